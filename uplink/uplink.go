package uplink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"math"
	mrand "math/rand/v2"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// Options configure an Uplink. ID, Broker and Outbox come from the agent's
// configuration; the rest have defaults that suit a store.
type Options struct {
	ID      wire.AgentID
	Broker  config.Broker
	Outbox  config.Outbox
	Version string // agent build version, in the birth message and inventory
	// ConfigState, when set, says in every heartbeat which configuration
	// the agent runs (the hub's fleet view).
	ConfigState func() *wire.ConfigState
	Logger      *slog.Logger
	// Grace is the collector's start-up grace (polling.grace), told to the
	// hub in the birth: it counts the hold-down of a fault first seen during
	// it from its end (docs/hub.md).
	Grace time.Duration

	// HeartbeatEvery is the heartbeat period on the metrics channel
	// (default 60s). Heartbeats are recorded while offline too, and once
	// more at every connect.
	HeartbeatEvery time.Duration
	// StartDelay, if set, waits a random time up to it before the first
	// connection, so a chain's stores do not all connect at once after a
	// power cut.
	StartDelay time.Duration
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff
	// (default 1s and ReconnectCap); every wait is jittered between half and
	// all of it.
	ReconnectMin, ReconnectMax time.Duration
	// ConnectTimeout bounds one connection attempt; PublishTimeout the wait
	// for a PUBACK (both default 15s).
	ConnectTimeout, PublishTimeout time.Duration
	// StallTimeout is how long an outbox message may wait for its PUBACK on
	// a connection that stays up before the uplink gives the connection up
	// (default 2m, at least PublishTimeout). Past PublishTimeout it only
	// warns: a broker slow to acknowledge is busy, not gone (paho's
	// keepalive notices one that is gone), and MQTT resends only on a new
	// connection, so reconnecting early would add a reconnect and a
	// duplicate to a broker already behind, and across a chain's agents
	// that feeds itself.
	StallTimeout time.Duration
	// InFlight is the most messages published and still waiting for their
	// PUBACK (default 100): the outbox is read ahead and published while
	// earlier messages are acknowledged.
	InFlight int
	// LiveBatch is the most new records read from the outbox at once
	// (default 200).
	LiveBatch int
	// BacklogBatch and BacklogRate bound how a backlog left by an outage
	// drains: batches of BacklogBatch (default 100) at BacklogRate messages
	// per second on average (default 200; negative means no limit). New
	// messages always go first.
	BacklogBatch int
	BacklogRate  float64
	// CommitInterval is the least time between two outbox commits (default
	// 250ms): records appended meanwhile share one transaction and one fsync.
	CommitInterval time.Duration
	// OpenTimeout bounds the wait for the outbox file's lock (default 5s).
	OpenTimeout time.Duration
	// CommandWorkers bounds concurrent remote queries (default 2);
	// CommandTimeout bounds one (default 30s, and never past its expiry).
	CommandWorkers int
	CommandTimeout time.Duration
	// ResubscribeMin and ResubscribeMax bound the backoff with which a
	// subscription to remote queries that the broker refused is asked for
	// again on the same connection (default 15s and 5m, jittered like the
	// reconnects): a broker cluster under load refuses some (nats-server
	// when it cannot make the session's consumer in time), and an agent
	// that gave up would not hear the hub's queries and resend requests
	// until it happened to reconnect.
	ResubscribeMin, ResubscribeMax time.Duration

	dialer dialer         // tests replace the paho dialer
	random func() float64 // [0,1) for the reconnect jitter; tests make it predictable
}

// ReconnectCap is the longest wait between two connection attempts
// (docs/protocol.md). The wait doubles from ReconnectMin after each failure
// up to it, and each wait is drawn between half and all of the step. So an
// agent uses a broker that is back at most ReconnectCap later, and when a
// broker comes back after an outage its chain's agents reconnect spread
// over ReconnectCap/2 rather than in one second. (It was 2 minutes: a
// broker back after 2 minutes was used only after 3.)
const ReconnectCap = 30 * time.Second

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeartbeatEvery, time.Minute)
	def(&o.ReconnectMin, time.Second)
	def(&o.ReconnectMax, ReconnectCap)
	def(&o.ConnectTimeout, 15*time.Second)
	def(&o.PublishTimeout, 15*time.Second)
	def(&o.StallTimeout, 2*time.Minute)
	o.StallTimeout = max(o.StallTimeout, o.PublishTimeout)
	def(&o.CommitInterval, 250*time.Millisecond)
	def(&o.CommandTimeout, 30*time.Second)
	def(&o.ResubscribeMin, 15*time.Second)
	def(&o.ResubscribeMax, 5*time.Minute)
	def(&o.Broker.KeepAlive, config.DefaultKeepAlive)
	if o.Outbox.MaxBytes <= 0 {
		o.Outbox.MaxBytes = config.DefaultMaxBytes
	}
	if o.Outbox.MaxAge <= 0 {
		o.Outbox.MaxAge = config.DefaultMaxAge
	}
	if o.Outbox.Path == "" {
		o.Outbox.Path = config.DefaultOutboxPath()
	}
	if o.InFlight <= 0 {
		o.InFlight = 100
	}
	if o.LiveBatch <= 0 {
		o.LiveBatch = 200
	}
	if o.BacklogBatch <= 0 {
		o.BacklogBatch = 100
	}
	if o.BacklogRate == 0 {
		o.BacklogRate = 200
	}
	if o.CommandWorkers <= 0 {
		o.CommandWorkers = 2
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.random == nil {
		o.random = mrand.Float64
	}
}

// CommandHandler runs one remote query. It must honour ctx's deadline. The
// uplink fills the response's header, id, device and op if left empty.
type CommandHandler interface {
	HandleCommand(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse
}

// CommandAuditor is implemented by a CommandHandler that wants to hear of
// the requests the uplink refuses before they reach it (expired ones), so
// that its audit trail holds every request.
type CommandAuditor interface {
	Refused(req *wire.CommandRequest, res *wire.CommandResponse)
}

// CommandHandlerFunc adapts a function to CommandHandler.
type CommandHandlerFunc func(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse

// HandleCommand calls f.
func (f CommandHandlerFunc) HandleCommand(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse {
	return f(ctx, req)
}

// Uplink is the agent's way to the hub: the outbox and the MQTT client.
type Uplink struct {
	opt     Options
	id      wire.AgentID
	boot    string
	started time.Time
	log     *slog.Logger
	ob      *outbox
	dial    dialer

	running atomic.Bool
	closeMu sync.Once

	epoch      atomic.Uint64 // bumped on every connection loss
	conn       atomic.Uint64 // the connection number in status messages (wire.Status.Conn)
	reconnects atomic.Uint64
	cmdDropped atomic.Uint64

	mu        sync.Mutex
	connected bool
	broker    string
	lastErr   string
	sess      session
	inv       *wire.Inventory
	invBody   []byte // inventory without its header, to see changes
	invSent   bool
	handler   CommandHandler
	onConfig  func(payload []byte) // the hub's device configuration; nil: not subscribed

	wake chan struct{}    // the inventory changed
	cmds chan cmdDelivery // requests waiting for a worker
}

type cmdDelivery struct{ payload []byte }

// New opens the outbox (creating it, or moving a corrupt one aside) and
// returns an Uplink that accepts events at once. Run connects.
func New(o Options) (*Uplink, error) {
	if err := o.ID.Validate(); err != nil {
		return nil, fmt.Errorf("uplink: agent id: %w", err)
	}
	o.defaults()
	u := &Uplink{opt: o, id: o.ID, boot: newBootID(), started: time.Now().UTC(), log: o.Logger.With("component", "uplink"),
		wake: make(chan struct{}, 1), cmds: make(chan cmdDelivery, 32)}
	ob, err := openOutbox(outboxOptions{
		Path: o.Outbox.Path, MaxBytes: int64(o.Outbox.MaxBytes), MaxAge: o.Outbox.MaxAge,
		OpenTimeout: o.OpenTimeout, CommitInterval: o.CommitInterval, KeepSent: o.Outbox.KeepSent,
		Agent: o.ID, Boot: u.boot, Logger: u.log,
	})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	u.ob = ob
	u.dial = o.dialer
	if u.dial == nil {
		u.dial = &pahoDialer{broker: o.Broker, clientID: ClientID(o.ID),
			keepAlive: o.Broker.KeepAlive, timeout: o.ConnectTimeout}
	}
	return u, nil
}

// ClientID is the agent's MQTT client id: "storeagent-", its tenant,
// store and agent joined by '_' with any '.' as '-', and eight hex digits
// of a hash of the exact id, so that ids that read alike stay apart.
// Letters, digits, '-' and '_' only: nats-server 2.10 and later refuse a
// client id with a '.' (it was storeagent-TENANT.STORE.AGENT).
func ClientID(id wire.AgentID) string {
	h := fnv.New32a()
	h.Write([]byte(id.String()))
	clean := func(s string) string { return strings.ReplaceAll(s, ".", "-") }
	return fmt.Sprintf("storeagent-%s_%s_%s-%08x", clean(id.Tenant), clean(id.Store), clean(id.Agent), h.Sum32())
}

func newBootID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return time.Now().UTC().Format("20060102T150405Z") + "-" + hex.EncodeToString(b)
}

// Boot returns this start's boot id.
func (u *Uplink) Boot() string { return u.boot }

// maxSamplesPerRecord keeps one metrics message well under wire.MaxPayload.
const maxSamplesPerRecord = 500

// Event persists a device health event; it returns once the event is on disk
// (within about CommitInterval), stamped with the agent id, boot id and the
// next sequence number. It implements collector.Sink.
func (u *Uplink) Event(ctx context.Context, ev wire.Event) error {
	p, err := u.prepare(&ev, &ev.Header, ClassEvent)
	if err != nil {
		return err
	}
	return u.ob.append(ctx, p)
}

// Samples persists measured values as telemetry. It implements
// collector.Sink.
func (u *Uplink) Samples(ctx context.Context, samples []wire.Sample) error {
	var ps []*pendingRecord
	for len(samples) > 0 {
		n := min(len(samples), maxSamplesPerRecord)
		m := wire.Metrics{Samples: samples[:n]}
		for i := range m.Samples {
			m.Samples[i].Time = m.Samples[i].Time.UTC()
		}
		samples = samples[n:]
		p, err := u.prepare(&m, &m.Header, ClassTelemetry)
		if err != nil {
			return err
		}
		ps = append(ps, p)
	}
	if len(ps) == 0 {
		return nil
	}
	return u.ob.append(ctx, ps...)
}

// prepare validates and encodes a message for the outbox. The sequence
// number is a placeholder here; the writer assigns the real one.
func (u *Uplink) prepare(m wire.Message, h *wire.Header, c Class) (*pendingRecord, error) {
	t := h.Time
	if t.IsZero() {
		t = time.Now()
	}
	*h = wire.Header{AgentID: u.id, Boot: u.boot, Seq: 1, Time: t.UTC()}
	body, err := u.ob.messageBody(m)
	if err != nil {
		return nil, err
	}
	return &pendingRecord{rec: record{class: c, typ: h.Type, time: h.Time.UnixNano(), body: body}}, nil
}

// SetInventory sets the retained inventory. It is published on every
// connect, and at once when it differs from the last one sent.
func (u *Uplink) SetInventory(inv wire.Inventory) error {
	if inv.AgentVersion == "" {
		inv.AgentVersion = u.opt.Version
	}
	inv.Header = wire.Header{AgentID: u.id, Boot: u.boot, Time: time.Now().UTC()}
	full, err := wire.Encode(&inv)
	if err != nil {
		return fmt.Errorf("uplink: %w", err)
	}
	body, err := splitBody(full, &inv.Header)
	if err != nil {
		return err
	}
	u.mu.Lock()
	changed := !bytes.Equal(body, u.invBody)
	if changed {
		u.inv, u.invBody, u.invSent = &inv, body, false
	}
	u.mu.Unlock()
	if changed {
		signal(u.wake)
	}
	return nil
}

// SetCommandHandler installs the handler for remote queries. Without one,
// requests are answered "denied".
func (u *Uplink) SetCommandHandler(h CommandHandler) {
	u.mu.Lock()
	u.handler = h
	u.mu.Unlock()
}

// SetConfigHandler makes the uplink subscribe to the agent's config
// channel at every connect and hand each payload to fn, on the MQTT
// client's goroutine: fn must not block.
func (u *Uplink) SetConfigHandler(fn func(payload []byte)) {
	u.mu.Lock()
	u.onConfig = fn
	u.mu.Unlock()
}

func (u *Uplink) configHandler() func([]byte) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.onConfig
}

// Stats is the uplink's state for the heartbeat, the local status page and
// `storeagent outbox`.
type Stats struct {
	Boot            string
	Started         time.Time
	Connected       bool
	Broker          string // the URL of the current or last connection
	LastError       string // why the last connection attempt failed, explained
	Reconnects      uint64
	CommandsDropped uint64 // requests refused because every worker was busy
	Outbox          OutboxStats
}

// Stats returns a snapshot.
func (u *Uplink) Stats() Stats {
	u.mu.Lock()
	defer u.mu.Unlock()
	return Stats{Boot: u.boot, Started: u.started, Connected: u.connected, Broker: u.broker, LastError: u.lastErr,
		Reconnects: u.reconnects.Load(), CommandsDropped: u.cmdDropped.Load(), Outbox: u.ob.stats()}
}

// Close commits what is queued and closes the outbox. Run calls it when it
// returns; call it yourself only if Run was never started.
func (u *Uplink) Close() error {
	var err error
	u.closeMu.Do(func() { err = u.ob.close() })
	return err
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// Run connects to the broker and publishes until ctx ends; then it marks
// the agent offline, disconnects and closes the outbox. Connection failures
// are logged and retried with backoff while events keep being buffered.
func (u *Uplink) Run(ctx context.Context) error {
	if !u.running.CompareAndSwap(false, true) {
		return errors.New("uplink: Run called twice")
	}
	defer u.Close()
	if len(u.opt.Broker.URLs) == 0 {
		return errors.New("uplink: no broker URL configured")
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for range u.opt.CommandWorkers {
		wg.Go(func() { u.commandWorker(cctx) })
	}
	wg.Go(func() { u.heartbeats(cctx) })
	if u.opt.StartDelay > 0 && !sleep(ctx, time.Duration(mrand.Int64N(int64(u.opt.StartDelay)))) {
		return nil
	}
	failures := 0
	for ctx.Err() == nil {
		s, url, err := u.connect(ctx)
		if err != nil {
			failures++
			if !sleep(ctx, backoff(u.opt.ReconnectMin, u.opt.ReconnectMax, failures, u.opt.random)) {
				break
			}
			continue
		}
		began := time.Now()
		u.serve(ctx, s, url)
		u.epoch.Add(1)
		u.mu.Lock()
		u.connected, u.sess = false, nil
		u.mu.Unlock()
		if ctx.Err() != nil {
			u.goOffline(s)
			break
		}
		s.Close()
		u.reconnects.Add(1)
		u.log.Warn("connection to the broker lost; buffering until it is back", "broker", url)
		// A connection that lasted resets the backoff; one that drops at
		// once (an ACL kick, a broker restart loop) keeps growing it.
		if time.Since(began) > time.Minute {
			failures = 0
		}
		failures++
		if !sleep(ctx, backoff(u.opt.ReconnectMin, u.opt.ReconnectMax, failures, u.opt.random)) {
			break
		}
	}
	return nil
}

// backoff is the wait after the n-th failure in a row: exponential with
// jitter, between half and all of lo*2^(n-1) capped at hi. random returns a
// number in [0,1).
func backoff(lo, hi time.Duration, n int, random func() float64) time.Duration {
	d := float64(lo) * math.Pow(2, float64(max(n-1, 0)))
	d = min(d, float64(hi))
	return time.Duration(d/2 + random()*d/2)
}

func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (u *Uplink) statusPayload(state string, at time.Time) []byte {
	st := wire.Status{Header: wire.Header{AgentID: u.id, Boot: u.boot, Time: at.UTC()}, State: state, Version: u.opt.Version,
		OS: runtime.GOOS + "/" + runtime.GOARCH, Started: u.started,
		Grace: u.opt.Grace.Seconds(), Conn: u.conn.Load()}
	if state == wire.PresenceOnline {
		st.Next = u.ob.next()
	}
	b, err := wire.Encode(&st)
	if err != nil {
		panic("uplink: cannot encode status: " + err.Error()) // our own constants; a bug
	}
	return b
}

// connect tries every broker URL in order and returns the first session.
func (u *Uplink) connect(ctx context.Context) (session, string, error) {
	// A new number for every attempt: the will registered now and the birth
	// serve publishes on the connection it gives carry the same one.
	u.conn.Add(1)
	w := will{topic: u.id.Topic(wire.ChannelStatus), payload: u.statusPayload(wire.PresenceOffline, time.Now())}
	var reasons []string
	var last error
	for _, url := range u.opt.Broker.URLs {
		actx, cancel := context.WithTimeout(ctx, u.opt.ConnectTimeout)
		s, err := u.dial.Dial(actx, url, w)
		cancel()
		if err == nil {
			u.mu.Lock()
			u.broker, u.lastErr = url, ""
			u.mu.Unlock()
			return s, url, nil
		}
		last = err
		reasons = append(reasons, err.Error())
	}
	msg := strings.Join(reasons, "; ")
	u.mu.Lock()
	repeated := msg == u.lastErr
	u.lastErr = msg
	u.mu.Unlock()
	if repeated {
		u.log.Debug("still cannot connect to the broker; buffering", "err", msg)
	} else {
		u.log.Error("cannot connect to the broker; buffering until it works", "err", msg, "buffered", u.ob.stats().Events+u.ob.stats().Telemetry)
	}
	return nil, "", last
}

// goOffline is the graceful end: retained "offline" on the status topic,
// then DISCONNECT (which makes the broker discard the will).
func (u *Uplink) goOffline(s session) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := s.Publish(u.id.Topic(wire.ChannelStatus), true, u.statusPayload(wire.PresenceOffline, time.Now())).Wait(ctx); err != nil {
		u.log.Warn("could not publish offline status", "err", err)
	}
	s.Close()
}

// serve runs one connection: birth, inventory, command subscription, then
// the publisher loop until the connection is lost or ctx ends.
func (u *Uplink) serve(ctx context.Context, s session, url string) {
	epoch := u.epoch.Load()
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-s.Lost():
			u.epoch.Add(1) // every PUBACK still awaited now proves nothing
			cancel()
		case <-sctx.Done():
		}
	}()
	// Acknowledgements queued on the last connection must be on disk before
	// the cursors restart, or acknowledged records would go out again.
	if err := u.ob.flush(sctx); err != nil {
		return
	}
	mark := u.ob.stats().LastSeq // records up to here are backlog
	pctx, pcancel := context.WithTimeout(sctx, u.opt.PublishTimeout)
	err := s.Publish(u.id.Topic(wire.ChannelStatus), true, u.statusPayload(wire.PresenceOnline, time.Now())).Wait(pctx)
	pcancel()
	if err != nil {
		u.log.Warn("birth message not acknowledged", "err", err)
		return
	}
	switch err := s.Subscribe(sctx, u.id.Topic(wire.ChannelCmdReq), u.onCommand); {
	case errors.Is(err, errRefused):
		// Events still go out; what the hub asks (remote queries, lost
		// messages again) does not reach the agent until the broker takes
		// the subscription: ask again, with backoff, while the connection
		// lasts (sctx ends with it).
		u.log.Warn("the broker refused the subscription to remote queries: the hub's queries and resend requests do not reach this agent until it takes it; asking again", "err", err)
		go u.resubscribe(sctx, s, "remote queries", u.id.Topic(wire.ChannelCmdReq), u.onCommand)
	case err != nil:
		u.log.Warn("cannot subscribe to remote queries", "err", err)
		return
	}
	if on := u.configHandler(); on != nil {
		// The hub's retained device configuration comes at once. A broker
		// whose ACL predates it refuses the subscription: the agent runs
		// its local configuration, as before.
		// A cluster under load refuses it for a while: ask again, as for
		// remote queries.
		topic := u.id.Topic(wire.ChannelConfig)
		if err := s.Subscribe(sctx, topic, on); err != nil {
			u.log.Warn("cannot subscribe to the hub's device configuration; running the local one", "err", err)
			if errors.Is(err, errRefused) {
				go u.resubscribe(sctx, s, "the hub's device configuration", topic, on)
			}
		}
	}
	u.mu.Lock()
	u.connected, u.sess, u.invSent = true, s, false
	u.mu.Unlock()
	u.log.Info("connected to the broker", "broker", url, "backlog", u.ob.stats().Events+u.ob.stats().Telemetry)

	// The first message after the birth: a heartbeat made now, so the hub
	// sees at once how much the outage left waiting and how old it is.
	if err := u.appendHeartbeat(sctx); err != nil && sctx.Err() == nil {
		u.log.Warn("cannot record heartbeat", "err", err)
	}
	newPublisher(u, s, epoch, mark).run(sctx)
}

// resubscribe asks the broker again for a subscription it refused, with
// backoff, until it takes it, the connection ends (ctx), or the
// subscription fails otherwise (the connection is going; the next one
// subscribes afresh).
func (u *Uplink) resubscribe(ctx context.Context, s session, what, topic string, fn func([]byte)) {
	for n := 1; sleep(ctx, backoff(u.opt.ResubscribeMin, u.opt.ResubscribeMax, n, u.opt.random)); n++ {
		switch err := s.Subscribe(ctx, topic, fn); {
		case err == nil:
			u.log.Info("the broker took the subscription to "+what, "topic", topic, "attempts", n+1)
			return
		case !errors.Is(err, errRefused):
			return
		}
	}
}

// heartbeats appends a heartbeat every HeartbeatEvery, connected or not
// (and serve adds one at every connect). Those made while offline wait in
// the outbox as telemetry and reach the hub with the backlog, so it can see
// how the outage went (the outbox filling, drops, memory); when the outbox
// is full they are collapsed to the latest one like any other telemetry.
func (u *Uplink) heartbeats(ctx context.Context) {
	t := time.NewTicker(u.opt.HeartbeatEvery)
	defer t.Stop()
	for {
		select {
		case <-t.C:
		case <-ctx.Done():
			return
		}
		if err := u.appendHeartbeat(ctx); err != nil && ctx.Err() == nil {
			u.log.Warn("cannot record heartbeat", "err", err)
		}
	}
}

func (u *Uplink) heartbeat() *wire.Heartbeat {
	st := u.Stats()
	hb := &wire.Heartbeat{
		Uptime:          time.Since(u.started).Seconds(),
		OutboxDepth:     st.Outbox.Events + st.Outbox.Telemetry,
		OutboxBytes:     st.Outbox.Bytes,
		Dropped:         st.Outbox.Dropped,
		Reconnects:      st.Reconnects,
		OutboxIncidents: st.Outbox.Incidents,
		RSSBytes:        residentBytes(),
		Goroutines:      runtime.NumGoroutine(),
	}
	if u.opt.ConfigState != nil {
		hb.Config = u.opt.ConfigState()
	}
	if !st.Outbox.Oldest.IsZero() {
		hb.OldestAge = time.Since(st.Outbox.Oldest).Seconds()
	}
	return hb
}

func (u *Uplink) appendHeartbeat(ctx context.Context) error {
	m := wire.Metrics{Heartbeat: u.heartbeat()}
	p, err := u.prepare(&m, &m.Header, ClassTelemetry)
	if err != nil {
		return err
	}
	return u.ob.append(ctx, p)
}
