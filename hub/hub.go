package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/profiles"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/resend"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/internal/clock"
)

// Hub is a running storehub.
type Hub struct {
	Engine   *incident.Engine
	Store    store.Store
	Pipeline *ingest.Pipeline
	Registry *prometheus.Registry
	Helpdesk *helpdesk.Outbox // nil without a helpdesk: section
	Query    *query.Service
	Enrol    *enrol.Service
	Profiles *profiles.Service

	log      *slog.Logger
	records  helpdesk.Records // the helpdesk outbox's, in the PostgreSQL store; nil: its own file
	embedded *broker.Embedded
	external *broker.External
	cluster  *cluster.Manager // with a cluster: section
	router   *partitionRouter // with a cluster: section
	// ingestMetrics and resendMetrics count for every pipeline: a
	// replica's partitions add to the same counters.
	ingestMetrics *ingest.Metrics
	dir           directory // what the API, console and queries list
	resendMetrics *resend.Metrics
	http          *http.Server
	httpLn        net.Listener

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

// Start opens the store, restores the engine and starts ingest, the broker
// (or the external broker connections) and the HTTP API, from a checked
// configuration (LoadConfig). It runs until ctx ends or Close is called;
// Wait returns the first fatal error.
func Start(ctx context.Context, cfg *Config, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	targets, catalog, err := cfg.prepare()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	st, records, err := openStore(ctx, cfg, log)
	if err != nil {
		cancel()
		return nil, err
	}
	pol := cfg.Policy.Policy()
	eng := incident.New(incident.Config{Policy: pol, Targets: targets, Clock: clock.Real{}})
	// A replica's own engine takes no part in the stores' state (each
	// partition's engine does): it takes query answers only. Restored, it
	// would run the timers of every live incident as the replica found it
	// at its start and commit that copy, unfenced, over the partitions'
	// (a rolling restart lost ticket links so).
	if cfg.Cluster == nil {
		snap, err := st.Snapshot(pol.ChronicWindow, time.Now())
		if err != nil {
			cancel()
			st.Close()
			return nil, err
		}
		eng.Restore(snap)
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := &Hub{Engine: eng, Store: st, Registry: reg, log: log, ctx: ctx, cancel: cancel, records: records}
	// What the API, the console and queries list: on a cluster the
	// database's (this replica's engine holds what it restored at start).
	var dir directory = engineDirectory{eng}
	if pg, ok := st.(*postgres.Store); ok && cfg.Cluster != nil {
		dir = &clusterDirectory{pg: pg, log: log.With("part", "directory")}
	}
	h.dir = dir
	if h.Query, err = startQueries(cfg, dir, st, h.publish, log.With("part", "query")); err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	h.ingestMetrics = ingest.NewMetrics(reg)
	pipe := ingest.New(ingest.Options{Engine: eng, Store: st, Log: log.With("part", "ingest"), Metrics: h.ingestMetrics, Answers: h.Query})
	h.Pipeline = pipe
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		if err := pipe.Run(ctx); err != nil {
			h.fail(err)
		}
	}()

	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.prune(ctx, cfg.LogRetention)
	}()
	h.resendMetrics = resend.NewMetrics(reg)
	if cfg.Cluster == nil { // a replica runs one per partition
		tr := resend.New(resend.Options{Source: eng, Asker: h.Query, Recorder: pipe, Metrics: h.resendMetrics, Log: log.With("part", "resend")})
		h.wg.Add(1)
		go func() {
			defer h.wg.Done()
			tr.Run(ctx)
		}()
	}

	if cfg.Cluster == nil {
		if err := h.startHelpdesk(ctx, cfg, catalog, pol); err != nil {
			h.Close()
			return nil, err
		}
	}

	access := broker.NewAccess(cfg.Agents)
	if h.Enrol, err = h.startEnrol(cfg, st, access, log.With("part", "enrol")); err != nil {
		h.Close()
		return nil, err
	}
	switch {
	case cfg.Cluster != nil:
		err = h.startReplica(ctx, cfg, targets, catalog)
	case cfg.Broker.Mode == "external":
		if h.external, err = broker.StartExternal(ctx, cfg.Broker.External, pipe, log.With("part", "mqtt")); err == nil {
			reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "storehub", Subsystem: "broker", Name: "connected",
				Help: "1 while every connection to the external brokers is up: otherwise the hub hears none of the stores behind them."},
				func() float64 {
					if h.external.Connected() {
						return 1
					}
					return 0
				}))
			h.wg.Add(1)
			go func() {
				defer h.wg.Done()
				followBroker(ctx, h.external, pipe, 0, h.log)
			}()
		}
	default: // the embedded broker
		if len(cfg.Agents) == 0 && len(access.PasswordFile()) == 0 {
			log.Warn("no agents configured or enrolled: the embedded broker admits none until hub.yaml lists them under agents or a store PC enrols")
		}
		h.embedded, err = broker.StartEmbedded(broker.EmbeddedOptions{Config: cfg.Broker.Embedded, Access: access,
			Handler: pipe, Log: log.With("part", "mqtt"), Metrics: broker.NewMetrics(reg)})
	}
	if err != nil {
		h.Close()
		return nil, err
	}

	if err := h.startProfiles(cfg, st, log.With("part", "profiles")); err != nil {
		h.Close()
		return nil, err
	}
	srv, err := api.New(api.Options{Engine: eng, Pipeline: pipe, Store: st, Log: log.With("part", "api"), Tokens: cfg.API.Tokens, Registry: reg,
		DeadLetters: h.deadLetters(), Query: h.Query, Audit: st, Display: cfg.Policy.Display, Enrol: h.Enrol, Profiles: h.Profiles,
		Router: h.apiRouter(), Directory: dir})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.httpLn, err = net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	handler, err := withConsole(srv, dir, st, cfg, catalog, log.With("part", "console"))
	if err != nil {
		h.Close()
		return nil, err
	}
	h.http = &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		var err error
		if cfg.API.TLSCert != "" {
			err = h.http.ServeTLS(h.httpLn, cfg.API.TLSCert, cfg.API.TLSKey)
		} else {
			err = h.http.Serve(h.httpLn)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			h.fail(fmt.Errorf("api: %w", err))
		}
	}()
	go func() {
		<-ctx.Done()
		sctx, c := context.WithTimeout(context.Background(), 5*time.Second)
		defer c()
		_ = h.http.Shutdown(sctx)
	}()
	log.Info("storehub running", "api", h.APIAddr(), "mqtt", h.MQTTAddrs(), "broker", cfg.Broker.Mode, "data_dir", cfg.DataDir, "store", storeType(st))
	return h, nil
}

// brokerLink is what followBroker watches (a *broker.External): a signal
// when a connection came up or was lost, and whether all are up.
type brokerLink interface {
	Changed() <-chan struct{}
	Connected() bool
}

// followBroker tells the engine when the hub loses its external broker
// and when it has it back: while a connection is down the hub hears none
// of the stores behind it, which is one outage, the hub's, and not one per
// store (docs/hub.md). Nothing is missing before the first time every
// connection was up. On a cluster each partition follows its own session,
// with a grace: a session that moves to another node of the broker cluster
// and is back within it (its messages kept for it meanwhile) is no outage,
// and holds no decision back for the settle time.
func followBroker(ctx context.Context, x brokerLink, pipe *ingest.Pipeline, grace time.Duration, log *slog.Logger) {
	connected, seen, told := false, false, false
	var lostAt time.Time
	var wait *time.Timer
	var waited <-chan time.Time
	defer func() {
		if wait != nil {
			wait.Stop()
		}
	}()
	tell := func(up bool, at time.Time) {
		err := pipe.Do(ctx, func(e *incident.Engine) (incident.Changes, error) {
			if up {
				return e.BrokerBack(at), nil
			}
			return e.BrokerLost(at), nil
		})
		switch {
		case err != nil && ctx.Err() == nil:
			log.Error("cannot record the broker connection's state", "connected", up, "err", err)
		case err == nil && !up:
			log.Warn("the hub cannot hear its stores: broker connection down; per-store offline decisions wait until it is back")
		case err == nil:
			log.Info("broker connection back; per-store offline decisions resume after the settle time")
		}
		told = err == nil && !up
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-waited:
			waited = nil
			if !connected {
				tell(false, lostAt)
			}
			continue
		case <-x.Changed():
		}
		now := x.Connected()
		switch {
		case !seen && now:
			seen, connected = true, true
			continue
		case !seen || now == connected:
			continue
		}
		connected = now
		if !connected {
			lostAt = time.Now()
			if grace <= 0 {
				tell(false, lostAt)
				continue
			}
			if wait == nil {
				wait = time.NewTimer(grace)
			} else {
				wait.Reset(grace)
			}
			waited = wait.C
			continue
		}
		if waited != nil {
			wait.Stop()
			waited = nil
			log.Info("broker connection back within the grace; no outage", "down", time.Since(lostAt).Round(time.Millisecond))
		}
		if told {
			tell(true, time.Now())
		}
	}
}

func (h *Hub) fail(err error) {
	h.mu.Lock()
	if h.err == nil {
		h.err = err
	}
	h.mu.Unlock()
	h.log.Error("storehub stopping", "err", err)
	h.cancel()
}

// prune deletes event-log entries older than the retention, at start and
// then hourly.
func (h *Hub) prune(ctx context.Context, retention time.Duration) {
	t := time.NewTicker(time.Hour)
	defer t.Stop()
	for {
		if n, err := h.Store.PruneLog(time.Now().Add(-retention)); err != nil {
			h.log.Warn("event log pruning failed", "err", err)
		} else if n > 0 {
			h.log.Info("event log pruned", "entries", n, "retention", retention)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// APIAddr is the HTTP API's bound address.
func (h *Hub) APIAddr() string {
	if h.httpLn == nil {
		return ""
	}
	return h.httpLn.Addr().String()
}

// MQTTAddrs are the embedded broker's bound addresses.
func (h *Hub) MQTTAddrs() []string {
	if h.embedded == nil {
		return nil
	}
	return h.embedded.Addrs()
}

// Close stops everything and returns the first fatal error, if any.
func (h *Hub) Close() error {
	h.once.Do(func() {
		h.cancel()
		if h.embedded != nil {
			h.embedded.Close()
		}
		if h.external != nil {
			h.external.Close()
		}
		if h.http != nil {
			h.http.Close()
		}
		h.wg.Wait()
		if h.Helpdesk != nil {
			h.Helpdesk.Close()
		}
		h.Store.Close()
	})
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.err
}

// Wait blocks until the hub's context ends or a part fails, then stops
// everything and returns the failure, if any.
func (h *Hub) Wait() error {
	<-h.ctx.Done()
	return h.Close()
}

// storeType names the store for the log.
func storeType(st store.Store) string {
	if _, ok := st.(*store.Bolt); ok {
		return store.TypeBolt
	}
	return store.TypePostgres
}
