package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/notify"
	"github.com/storewatch/storewatch/hub/resend"
	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// A hub with a cluster: section is one replica of several (docs/hub.md,
// "Running several replicas"). The Manager holds this replica's share of
// the partitions' leases; for each partition it holds, partitionRunner runs
// an incident engine restored from the database with that partition's
// stores only, its ingest pipeline committing under the lease's fence, and
// the partition's own persistent MQTT session. The holder of the delivery
// lease runs the helpdesk delivery.

// partitionRunner is the hub's cluster.Runner.
type partitionRunner struct {
	pg      *postgres.Store
	cfg     *Config
	cl      cluster.Config
	targets sla.Targets
	catalog *tickets.Catalog
	router  *partitionRouter
	asker   resend.Asker // the replica's query service, for the partitions' resends
	ingests *ingest.Metrics
	resends *resend.Metrics
	log     *slog.Logger
	// listening counts the partitions here whose engine waits for the end
	// of the broker's backlog (storehub_cluster_partitions_listening).
	listening atomic.Int32
}

func (r *partitionRunner) Run(ctx context.Context, l cluster.Lease) error {
	if l.Partition == r.cl.Partitions {
		return r.deliver(ctx)
	}
	return r.partition(ctx, l)
}

// partitionSubscriptions are a partition session's filters: every store's
// messages for the engine (query answers come to each replica's own
// session). The broker delivers each message to every partition's session;
// a session acknowledges at once those of other partitions' stores.
func partitionSubscriptions() []string {
	var out []string
	for _, ch := range []wire.Channel{wire.ChannelStatus, wire.ChannelInventory, wire.ChannelEvents, wire.ChannelMetrics} {
		out = append(out, wire.Filter("+", ch))
	}
	return out
}

// PartitionClientID is the MQTT client id of a partition's session: the
// same on every replica, so that the broker hands the session (and the
// messages it kept) to whichever replica holds the partition.
func PartitionClientID(base string, p int) string { return fmt.Sprintf("%s-p%d", base, p) }

func (r *partitionRunner) partition(ctx context.Context, l cluster.Lease) error {
	p, n := l.Partition, r.cl.Partitions
	log := r.log.With("partition", p, "epoch", l.Epoch)
	pol := r.cfg.Policy.Policy()
	began := time.Now()
	mine := func(tenant, store string) bool { return cluster.PartitionOf(tenant, store, n) == p }
	// Listening from the take: the snapshot's read is part of the wait.
	r.listening.Add(1)
	var done atomic.Bool
	heard := func() bool { // counts the partition out once; reports whether this call did
		if done.CompareAndSwap(false, true) {
			r.listening.Add(-1)
			return true
		}
		return false
	}
	defer heard()
	snap, err := r.pg.SnapshotOf(pol.ChronicWindow, time.Now(), mine)
	if err != nil {
		return fmt.Errorf("partition %d: %w", p, err)
	}
	eng := incident.New(incident.Config{Policy: pol, Targets: r.targets, Clock: clock.Real{},
		Numbers: incident.Numbering{Stride: uint64(n), Offset: uint64(p)}, NoOutageIncident: p != 0})
	read := time.Since(began)
	eng.Restore(partitionSnapshot(snap, p, mine))
	restored := time.Since(began)
	// What the broker kept for the partition's session since its last
	// holder stopped comes first: decide nothing before it is read.
	eng.Listen(time.Now().Add(catchUpLimit))
	late := time.AfterFunc(catchUpLimit, func() {
		if heard() {
			log.Warn("partition deciding without the end of the broker's backlog", "waited", catchUpLimit,
				"hint", "the broker must let the hub's user write "+broker.SyncFilter)
		}
	})
	defer late.Stop()
	fence := postgres.Fence{Partition: p, Holder: l.Holder, Epoch: l.Epoch}
	pipe := ingest.New(ingest.Options{Engine: eng, Store: fenced{r.pg, fence}, Log: log.With("part", "ingest"), Metrics: r.ingests})
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ran := make(chan error, 1)
	go func() { ran <- pipe.Run(pctx) }()
	sess, err := broker.StartSession(pctx, r.cfg.Broker.External, broker.Session{ClientID: PartitionClientID(r.cfg.Broker.External.ClientID, p),
		Subscriptions: partitionSubscriptions(), Failover: true, Sync: true}, ofPartition{pipe: pipe, p: p, n: n, log: log, began: began, heard: heard}, log.With("part", "mqtt"))
	if err != nil {
		cancel()
		<-ran
		return err
	}
	defer r.router.running(p, pipe)()
	// Its session's broker connection: lost, the partition's engine holds
	// its stores' decisions back (partition 0's opens the hub's outage
	// incident), as the one hub does with its connection.
	followed := make(chan struct{})
	go func() {
		defer close(followed)
		followBroker(pctx, sess, pipe, sessionGrace, log.With("part", "mqtt"))
	}()
	defer func() { cancel(); <-followed }()
	tracked := make(chan struct{})
	go func() {
		defer close(tracked)
		resend.New(resend.Options{Source: eng, Asker: r.asker, Recorder: pipe, Metrics: r.resends, Log: log.With("part", "resend")}).Run(pctx)
	}()
	defer func() { cancel(); <-tracked }()
	fed := make(chan struct{})
	go func() {
		defer close(fed)
		r.applyFeedback(pctx, p, pipe, log.With("part", "helpdesk-feedback"))
	}()
	defer func() { cancel(); <-fed }()
	// How long the partition's stores waited on the takeover, and where:
	// the database's read, the engine's restore, the session's start.
	log.Info("partition running", "stores", len(snap.Stores), "devices", len(snap.Devices), "read", read.Round(time.Millisecond),
		"restored", restored.Round(time.Millisecond), "running", time.Since(began).Round(time.Millisecond))
	select {
	case <-ctx.Done():
	case err = <-ran:
		ran <- err
	}
	// The session first: what was received and not committed stays
	// unacknowledged, and the broker keeps it for the next holder.
	sess.Close()
	cancel()
	err = <-ran
	log.Info("partition stopped", "err", err)
	return err
}

// sessionGrace is how long a partition's session may be away from the
// broker before its engine holds decisions back: moving to another node
// of the cluster takes a second or two, and the broker keeps the
// session's messages meanwhile.
const sessionGrace = 15 * time.Second

// catchUpLimit bounds how long a partition taken over waits for the end of
// the broker's backlog (broker.Session.Sync) before it decides anyway: a
// broker that drops the hub's markers (an ACL without storewatch/v1/~hub/#)
// must not keep the stores without tickets. Reading a backlog takes seconds
// (docs/benchmarks.md).
const catchUpLimit = 2 * time.Minute

// feedbackQueue is the helpdesk delivery's notify.Applier on a cluster: the
// delivery runs on one replica, the incident's engine on the holder of its
// partition, maybe another. What a helpdesk said is queued in the database
// for that holder (applyFeedback), never written from this replica's own
// view of the incident, which can be hours old.
type feedbackQueue struct {
	pg *postgres.Store
	n  int // partitions
}

func (q feedbackQueue) LinkTicket(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket) error {
	return q.queue(ctx, postgres.Feedback{Partition: q.partitionOf(inc), Incident: inc.ID, Ticket: t})
}

func (q feedbackQueue) ClosedInHelpdesk(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket, state string) error {
	return q.queue(ctx, postgres.Feedback{Partition: q.partitionOf(inc), Incident: inc.ID, Ticket: t, Closed: state})
}

// queue writes f, waiting out a database that is away (a restart): the
// helpdesk's answer came once and does not come again. The delivery
// stopping (a rolling restart) does not cut it short; a database away for
// longer than feedbackPatience does.
func (q feedbackQueue) queue(ctx context.Context, f postgres.Feedback) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), feedbackPatience)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		err := q.pg.QueueFeedback(f)
		if err == nil {
			return nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// partitionOf is the partition of an incident's store; the hub's own
// incidents are partition 0's (partitionSnapshot).
func (q feedbackQueue) partitionOf(inc incident.Incident) int {
	if inc.Kind == incident.KindHubOutage {
		return 0
	}
	return cluster.PartitionOf(inc.Tenant, inc.Store, q.n)
}

// feedbackPatience bounds the wait for the database to take a helpdesk's
// answer.
const feedbackPatience = 2 * time.Minute

// feedbackEvery is how often a partition looks for queued helpdesk
// feedback.
const feedbackEvery = 2 * time.Second

// applyFeedback applies, in partition p's engine, the helpdesk feedback
// queued for it (feedbackQueue), oldest first, deleting each once its
// change is committed; until ctx ends. A feedback that cannot be applied
// for good (bad input) is dropped with an error in the log; one whose
// commit failed stays for the next round or the next holder (applying it
// twice changes nothing more: a ticket linked again is ignored).
func (r *partitionRunner) applyFeedback(ctx context.Context, p int, pipe *ingest.Pipeline, log *slog.Logger) {
	t := time.NewTicker(feedbackEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		queued, err := r.pg.PendingFeedback(p, 100)
		if err != nil {
			log.Warn("reading queued helpdesk feedback", "err", err)
			continue
		}
		for _, f := range queued {
			err := notify.Apply(ctx, pipe, f.Incident, f.Ticket, f.Closed)
			if err != nil && !errors.Is(err, incident.ErrBadInput) {
				log.Warn("applying helpdesk feedback; trying again", "incident", f.Incident, "ticket", f.Ticket.ID, "err", err)
				break
			}
			if err != nil {
				log.Error("helpdesk feedback dropped", "incident", f.Incident, "ticket", f.Ticket.ID, "err", err)
			}
			if err := r.pg.DoneFeedback(f.Seq); err != nil {
				log.Warn("deleting applied helpdesk feedback", "seq", f.Seq, "err", err)
				break
			}
		}
	}
}

// fenced commits a partition's changes under its lease.
type fenced struct {
	pg    *postgres.Store
	fence postgres.Fence
}

func (f fenced) Commit(c incident.Changes) error { return f.pg.CommitFenced(c, f.fence) }

// ofPartition passes on the messages of the partition's stores and
// acknowledges the others' (another session of the same broker takes
// them).
type ofPartition struct {
	pipe  *ingest.Pipeline
	p, n  int
	log   *slog.Logger
	began time.Time   // when the partition was taken
	heard func() bool // counts the partition out of those listening, once
}

// Synced is the end of what the broker kept for the partition's session
// (broker.Syncer): its engine decides again, on everything it has read.
func (o ofPartition) Synced(ctx context.Context, done func(error)) {
	o.pipe.After(ctx, func(e *incident.Engine) {
		if e.Heard() {
			o.heard()
			o.log.Info("partition caught up: the broker's backlog is read", "after", time.Since(o.began).Round(time.Millisecond))
		}
	}, done)
}

func (o ofPartition) Handle(ctx context.Context, topic string, payload []byte, client string) error {
	if id, _, err := wire.ParseTopic(topic); err == nil && cluster.PartitionOf(id.Tenant, id.Store, o.n) != o.p {
		return nil
	}
	return o.pipe.Handle(ctx, topic, payload, client)
}

// HandleAsync is Handle without waiting for the commit (broker.AsyncHandler).
func (o ofPartition) HandleAsync(ctx context.Context, topic string, payload []byte, client string, done func(error)) {
	if id, _, err := wire.ParseTopic(topic); err == nil && cluster.PartitionOf(id.Tenant, id.Store, o.n) != o.p {
		done(nil)
		return
	}
	o.pipe.HandleAsync(ctx, topic, payload, client, done)
}

// partitionSnapshot keeps what belongs to partition p's stores (mine), of
// a snapshot read with SnapshotOf(mine): its stores, agents and devices are
// the partition's already. The hub's own outage incidents are partition
// 0's. LastID stays the highest number of all: the partition's numbers
// continue above it.
func partitionSnapshot(s incident.Snapshot, p int, mine func(tenant, store string) bool) incident.Snapshot {
	out := incident.Snapshot{LastID: s.LastID, Stores: s.Stores, Agents: s.Agents, Devices: s.Devices}
	for _, x := range s.Incidents {
		if (x.Kind == incident.KindHubOutage && p == 0) || (x.Kind != incident.KindHubOutage && mine(x.Tenant, x.Store)) {
			out.Incidents = append(out.Incidents, x)
		}
	}
	for _, x := range s.Episodes {
		if parts := strings.SplitN(x.Key, "/", 3); len(parts) == 3 && mine(parts[0], parts[1]) {
			out.Episodes = append(out.Episodes, x)
		}
	}
	for _, x := range s.Windows {
		if mine(x.Tenant, x.Store) {
			out.Windows = append(out.Windows, x)
		}
	}
	return out
}

// deliver runs the helpdesk delivery while this replica holds its lease:
// the bridge follows the notification stream (woken by every replica's
// commits) and the outbox calls the helpdesks, its records in the
// database, so that the next holder carries on where this one stopped.
func (r *partitionRunner) deliver(ctx context.Context) error {
	if r.cfg.Helpdesk == nil {
		<-ctx.Done()
		return nil
	}
	log := r.log.With("part", "helpdesk")
	out, err := helpdesk.Open(*r.cfg.Helpdesk, r.catalog, helpdesk.Options{
		Feedback: &notify.Feedback{Apply: feedbackQueue{r.pg, r.cl.Partitions}, Store: r.pg, Log: log}, Logger: log, Records: r.pg.HelpdeskRecords()})
	if err != nil {
		return err
	}
	defer out.Close()
	bridge := notify.New(notify.Options{Stream: r.pg, Counts: r.pg, Inventory: storedInventory{r.pg, log}, Outbox: out, Policy: r.cfg.Policy.Policy(),
		PublicURL: r.cfg.API.PublicURL, Log: log})
	dctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make(chan error, 2)
	go func() { errs <- out.Run(dctx) }()
	go func() { errs <- bridge.Run(dctx) }()
	log.Info("helpdesk delivery running on this replica", "helpdesks", len(r.cfg.Helpdesk.Helpdesks))
	var first error
	for range 2 {
		if err := <-errs; err != nil && first == nil && !errors.Is(err, context.Canceled) {
			first = err
			cancel()
		}
	}
	return first
}

// startReplica starts this replica's own broker session (clean, for the
// answers to the remote queries it sends, and to send them) and the
// Manager that runs its share of the partitions.
func (h *Hub) startReplica(ctx context.Context, cfg *Config, targets sla.Targets, catalog *tickets.Catalog) error {
	pg, ok := h.Store.(*postgres.Store)
	if !ok {
		return errors.New("cluster: several replicas need the postgres store")
	}
	cl := cfg.Cluster.WithDefaults()
	var err error
	h.external, err = broker.StartSession(ctx, cfg.Broker.External, broker.Session{ClientID: cfg.Broker.External.ClientID + "-" + cl.Replica,
		Subscriptions: []string{wire.Filter("+", wire.ChannelCmdRes)}, Clean: true, Failover: true}, h.Pipeline, h.log.With("part", "mqtt"))
	if err != nil {
		return err
	}
	h.router = newPartitionRouter(cl.Partitions, cl.Replica, pg.Leases(), pg.Windows)
	run := &partitionRunner{pg: pg, cfg: cfg, cl: cl, targets: targets, catalog: catalog, router: h.router,
		asker: h.Query, ingests: h.ingestMetrics, resends: h.resendMetrics,
		log: h.log.With("part", "cluster", "replica", cl.Replica)}
	h.cluster = cluster.NewManager(cl, pg.Leases(), run, h.log.With("part", "cluster", "replica", cl.Replica))
	h.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "storehub", Subsystem: "cluster", Name: "partitions_held",
		Help: "Partitions (and the helpdesk delivery, counted as one more) whose lease this replica holds."},
		func() float64 { return float64(len(h.cluster.Owned())) }))
	h.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: "storehub", Subsystem: "cluster", Name: "partitions_listening",
		Help: "Partitions taken here whose engine decides nothing yet: the broker has not delivered the end of what it kept for their session."},
		func() float64 { return float64(run.listening.Load()) }))
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		h.cluster.Run(ctx)
	}()
	return nil
}

// apiRouter is the API's Router: nil on the only hub (a nil
// *partitionRouter would not be a nil api.Router).
func (h *Hub) apiRouter() api.Router {
	if h.router == nil {
		return nil
	}
	return h.router
}

// Cluster is the replica's lease manager; nil without a cluster: section.
func (h *Hub) Cluster() *cluster.Manager { return h.cluster }

// storedInventory is what the helpdesk delivery knows of stores and
// incidents on a replica: the database's, which every partition's engine
// writes (this replica's own engines hold only their partitions).
type storedInventory struct {
	pg  *postgres.Store
	log *slog.Logger
}

func (s storedInventory) Store(tenant, store string) (incident.StoreRecord, bool) {
	rec, ok, _, err := s.pg.StoreInventory(tenant, store)
	if err != nil {
		s.log.Warn("helpdesk: reading a store's record", "tenant", tenant, "store", store, "err", err)
	}
	return rec, ok
}

func (s storedInventory) StoreDevices(tenant, store string) []incident.DeviceRecord {
	_, _, devs, err := s.pg.StoreInventory(tenant, store)
	if err != nil {
		s.log.Warn("helpdesk: reading a store's devices", "tenant", tenant, "store", store, "err", err)
	}
	return devs
}

func (s storedInventory) Live(id string) (incident.Incident, bool) {
	inc, err := s.pg.Incident(id)
	if err != nil {
		return incident.Incident{}, false
	}
	return inc, inc.State.Live()
}

// partitionRouter is the API's api.Router on a replica: an action on a
// store runs in the pipeline of its partition when this replica runs it,
// and is forwarded to the API of the replica that holds the lease
// otherwise (cluster_members.api_url, cluster.api_url).
type partitionRouter struct {
	n       int
	replica string
	leases  leaseHolders
	windows func() ([]incident.Window, error)

	mu    sync.Mutex
	local map[int]*ingest.Pipeline // the partitions running here
}

// leaseHolders is what the router reads of the leases.
type leaseHolders interface {
	Holders(ctx context.Context) (map[int]string, error)
	Members(ctx context.Context) ([]cluster.Member, error)
}

func newPartitionRouter(n int, replica string, leases leaseHolders, windows func() ([]incident.Window, error)) *partitionRouter {
	return &partitionRouter{n: n, replica: replica, leases: leases, windows: windows, local: map[int]*ingest.Pipeline{}}
}

// running says that partition p's pipeline runs here until the returned
// function is called.
func (r *partitionRouter) running(p int, pipe *ingest.Pipeline) (stopped func()) {
	r.mu.Lock()
	r.local[p] = pipe
	r.mu.Unlock()
	return func() {
		r.mu.Lock()
		if r.local[p] == pipe {
			delete(r.local, p)
		}
		r.mu.Unlock()
	}
}

func (r *partitionRouter) Route(ctx context.Context, tenant, store string) (api.Route, error) {
	p := 0 // the hub's own incidents
	if tenant != "" || store != "" {
		p = cluster.PartitionOf(tenant, store, r.n)
	}
	r.mu.Lock()
	pipe := r.local[p]
	r.mu.Unlock()
	if pipe != nil {
		return api.Route{Pipe: partitionWriter{pipe}}, nil
	}
	holders, err := r.leases.Holders(ctx)
	if err != nil {
		return api.Route{}, fmt.Errorf("%w: %v", api.ErrNoOwner, err)
	}
	holder, ok := holders[p]
	if !ok {
		return api.Route{}, fmt.Errorf("partition %d: %w", p, api.ErrNoOwner)
	}
	if holder == r.replica {
		// Taken and not yet running here, or lost and not yet stopped.
		return api.Route{}, fmt.Errorf("partition %d is starting or stopping on this replica: %w", p, api.ErrNoOwner)
	}
	members, err := r.leases.Members(ctx)
	if err != nil {
		return api.Route{}, fmt.Errorf("%w: %v", api.ErrNoOwner, err)
	}
	for _, m := range members {
		if m.Replica == holder && m.APIURL != "" {
			return api.Route{URL: m.APIURL}, nil
		}
	}
	return api.Route{}, fmt.Errorf("partition %d: its holder %s publishes no API URL (cluster.api_url): %w", p, holder, api.ErrNoOwner)
}

// partitionWriter runs an action in a partition's pipeline; a pipeline
// that stopped, or a commit fenced off, means the lease moved between the
// lookup and the action: nothing of it was stored, and the caller tries
// again at the new holder.
type partitionWriter struct{ pipe *ingest.Pipeline }

func (w partitionWriter) Do(ctx context.Context, fn func(*incident.Engine) (incident.Changes, error)) error {
	err := w.pipe.Do(ctx, fn)
	if errors.Is(err, ingest.ErrStopped) || errors.Is(err, postgres.ErrFenced) {
		return fmt.Errorf("%w: %v", api.ErrNoOwner, err)
	}
	return err
}

func (r *partitionRouter) Windows() ([]incident.Window, error) { return r.windows() }

func (r *partitionRouter) Replica() string { return r.replica }
