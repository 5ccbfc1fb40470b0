package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Hub is a running storehub.
type Hub struct {
	Engine   *incident.Engine
	Store    store.Store
	Pipeline *ingest.Pipeline
	Registry *prometheus.Registry
	Helpdesk *helpdesk.Outbox // nil without a helpdesk: section
	Query    *query.Service

	log      *slog.Logger
	records  helpdesk.Records // the helpdesk outbox's, in the PostgreSQL store; nil: its own file
	embedded *broker.Embedded
	external *broker.External
	http     *http.Server
	httpLn   net.Listener

	ctx    context.Context
	cancel context.CancelFunc
	once   sync.Once
	wg     sync.WaitGroup
	mu     sync.Mutex
	err    error
}

// Policy turns the configuration into the engine's policy: the built-in
// rule of each code with the file's overrides laid over it.
func Policy(c config.HubPolicy) incident.Policy {
	p := incident.DefaultPolicy()
	if c.Grace != 0 {
		p.Grace = c.Grace
	}
	if c.ReplaySettle != 0 {
		p.ReplaySettle = c.ReplaySettle
	}
	if c.Flap.Window != 0 {
		p.FlapWindow = c.Flap.Window
	}
	if c.Flap.Threshold != 0 {
		p.FlapThreshold = c.Flap.Threshold
	}
	if c.Flap.Quiet != 0 {
		p.FlapQuiet = c.Flap.Quiet
	}
	if c.Chronic.Count != 0 {
		p.ChronicCount = c.Chronic.Count
	}
	if c.Chronic.Window != 0 {
		p.ChronicWindow = c.Chronic.Window
	}
	if c.Chronic.MinDuration != 0 {
		p.ChronicMin = c.Chronic.MinDuration
	}
	p.Rules = map[string]incident.Rule{}
	for key, o := range c.Rules {
		kind, code, scoped := strings.Cut(key, "/")
		if !scoped {
			code, kind = kind, ""
		}
		base := incident.DefaultRule(wire.FaultCode(code))
		if kind != "" { // kind rules start from the code's (possibly overridden) rule
			if r, ok := c.Rules[code]; ok {
				base = overlay(base, r)
			}
		}
		p.Rules[key] = overlay(base, o)
	}
	return p
}

func overlay(r incident.Rule, o config.Rule) incident.Rule {
	if o.Never != nil {
		r.Never = *o.Never
	}
	if o.HoldDown != nil {
		r.HoldDown = *o.HoldDown
	}
	if o.HoldUp != nil {
		r.HoldUp = *o.HoldUp
	}
	if o.OnRecovery != "" {
		r.OnRecovery = incident.Recovery(o.OnRecovery)
	}
	if o.Chronic != nil {
		r.Chronic = *o.Chronic
	}
	return r
}

// Targets turns the SLA configuration into targets per priority.
func Targets(c config.HubSLA) (sla.Targets, error) {
	cals := map[string]sla.Calendar{config.BuiltinCalendar24x7: sla.AlwaysOn, config.BuiltinCalendarDefault: sla.BusinessHours()}
	for name, cc := range c.Calendars {
		h, err := wire.ParseTradingHours(cc.Hours)
		if err != nil {
			return nil, fmt.Errorf("sla calendar %s: %w", name, err)
		}
		cal := sla.Calendar{Name: name, Hours: h, Holidays: cc.Holidays}
		if cc.TimeZone != "" {
			if cal.Location, err = time.LoadLocation(cc.TimeZone); err != nil {
				return nil, fmt.Errorf("sla calendar %s: %w", name, err)
			}
		}
		cals[name] = cal
	}
	ts := sla.DefaultTargets()
	for key, tc := range c.Priorities {
		p, err := config.ParsePriority(key)
		if err != nil {
			return nil, err
		}
		name := tc.Calendar
		if name == "" {
			name = config.BuiltinCalendarDefault
		}
		cal, ok := cals[name]
		if !ok {
			return nil, fmt.Errorf("sla priority %s: no calendar %q", key, name)
		}
		ts[p] = sla.Target{Response: tc.Response, Resolution: tc.Resolution, Calendar: cal}
	}
	return ts, nil
}

// Start opens the store, restores the engine and starts ingest, the broker
// (or the external broker connections) and the HTTP API. It runs until ctx
// ends or Close is called; Wait returns the first fatal error.
func Start(ctx context.Context, cfg *config.Hub, log *slog.Logger) (*Hub, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	targets, err := Targets(cfg.SLA)
	if err != nil {
		return nil, err
	}
	desk, err := loadHelpdesk(cfg)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	st, records, err := openStore(ctx, cfg, log)
	if err != nil {
		cancel()
		return nil, err
	}
	pol := Policy(cfg.Policy)
	snap, err := st.Snapshot(pol.ChronicWindow, time.Now())
	if err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	eng := incident.New(incident.Config{Policy: pol, Targets: targets, Clock: clock.Real{}})
	eng.Restore(snap)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	h := &Hub{Engine: eng, Store: st, Registry: reg, log: log, ctx: ctx, cancel: cancel, records: records}
	if h.Query, err = startQueries(cfg, eng, st, h.publish, log.With("part", "query")); err != nil {
		cancel()
		st.Close()
		return nil, err
	}
	pipe := ingest.New(ingest.Options{Engine: eng, Store: st, Log: log.With("part", "ingest"), Metrics: ingest.NewMetrics(reg), Answers: h.Query})
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

	if err := h.startHelpdesk(ctx, desk, pol, cfg.API.PublicURL); err != nil {
		h.Close()
		return nil, err
	}

	switch cfg.Broker.Mode {
	case "external":
		h.external, err = broker.StartExternal(ctx, cfg.Broker.External, pipe, log.With("part", "mqtt"))
	default:
		if len(cfg.Agents) == 0 {
			log.Warn("no agents configured: the embedded broker admits none until hub.yaml lists them under agents")
		}
		h.embedded, err = broker.StartEmbedded(broker.EmbeddedOptions{Config: cfg.Broker.Embedded, Access: broker.NewAccess(cfg.Agents),
			Handler: pipe, Log: log.With("part", "mqtt"), Metrics: broker.NewMetrics(reg)})
	}
	if err != nil {
		h.Close()
		return nil, err
	}

	srv, err := api.New(api.Options{Engine: eng, Pipeline: pipe, Store: st, Log: log.With("part", "api"), Tokens: cfg.API.Tokens, Registry: reg,
		DeadLetters: h.deadLetters(), Query: h.Query, Audit: st})
	if err != nil {
		h.Close()
		return nil, err
	}
	h.httpLn, err = net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		h.Close()
		return nil, fmt.Errorf("api: %w", err)
	}
	handler, err := withConsole(srv, eng, st, cfg.API.ConsoleDir, log.With("part", "console"))
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
