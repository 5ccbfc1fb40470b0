package uplink

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
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
	Logger  *slog.Logger

	// HeartbeatEvery is the heartbeat period on the metrics channel
	// (default 60s). Heartbeats are sent only while connected.
	HeartbeatEvery time.Duration
	// StartDelay, if set, waits a random time up to it before the first
	// connection, so a chain's stores do not all connect at once after a
	// power cut.
	StartDelay time.Duration
	// ReconnectMin and ReconnectMax bound the exponential reconnect backoff
	// (default 1s and 2m); every wait is jittered between half and all of it.
	ReconnectMin, ReconnectMax time.Duration
	// ConnectTimeout bounds one connection attempt; PublishTimeout the wait
	// for a PUBACK (both default 15s).
	ConnectTimeout, PublishTimeout time.Duration
	// LiveBatch is the most messages published before waiting for their
	// acknowledgements (default 200).
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

	dialer dialer // tests replace the paho dialer
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.HeartbeatEvery, time.Minute)
	def(&o.ReconnectMin, time.Second)
	def(&o.ReconnectMax, 2*time.Minute)
	def(&o.ConnectTimeout, 15*time.Second)
	def(&o.PublishTimeout, 15*time.Second)
	def(&o.CommitInterval, 250*time.Millisecond)
	def(&o.CommandTimeout, 30*time.Second)
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
}

// CommandHandler runs one remote query. It must honour ctx's deadline. The
// uplink fills the response's header, id, device and op if left empty.
type CommandHandler interface {
	HandleCommand(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse
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
		OpenTimeout: o.OpenTimeout, CommitInterval: o.CommitInterval,
		Agent: o.ID, Boot: u.boot, Logger: u.log,
	})
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	u.ob = ob
	u.dial = o.dialer
	if u.dial == nil {
		u.dial = &pahoDialer{broker: o.Broker, clientID: "storeagent-" + strings.ReplaceAll(o.ID.String(), "/", "."),
			keepAlive: o.Broker.KeepAlive, timeout: o.ConnectTimeout}
	}
	return u, nil
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
	full, err := wire.Encode(m)
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if len(full) > wire.MaxPayload {
		return nil, fmt.Errorf("uplink: %s of %d bytes is larger than the %d bytes a message may have", h.Type, len(full), wire.MaxPayload)
	}
	body, err := splitBody(full, h)
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
	if u.opt.StartDelay > 0 && !sleep(ctx, time.Duration(mrand.Int64N(int64(u.opt.StartDelay)))) {
		return nil
	}
	failures := 0
	for ctx.Err() == nil {
		s, url, err := u.connect(ctx)
		if err != nil {
			failures++
			if !sleep(ctx, backoff(u.opt.ReconnectMin, u.opt.ReconnectMax, failures)) {
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
		if !sleep(ctx, backoff(u.opt.ReconnectMin, u.opt.ReconnectMax, failures)) {
			break
		}
	}
	return nil
}

// backoff is exponential with jitter: between half and all of
// min*2^(n-1), capped at max.
func backoff(lo, hi time.Duration, n int) time.Duration {
	d := float64(lo) * math.Pow(2, float64(max(n-1, 0)))
	d = min(d, float64(hi))
	return time.Duration(d/2 + mrand.Float64()*d/2)
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
	st := wire.Status{Header: wire.Header{AgentID: u.id, Boot: u.boot, Time: at.UTC()}, State: state, Version: u.opt.Version, Started: u.started}
	b, err := wire.Encode(&st)
	if err != nil {
		panic("uplink: cannot encode status: " + err.Error()) // our own constants; a bug
	}
	return b
}

// connect tries every broker URL in order and returns the first session.
func (u *Uplink) connect(ctx context.Context) (session, string, error) {
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
	if err := s.Subscribe(sctx, u.id.Topic(wire.ChannelCmdReq), u.onCommand); err != nil {
		u.log.Warn("cannot subscribe to remote queries", "err", err)
		return
	}
	u.mu.Lock()
	u.connected, u.sess, u.invSent = true, s, false
	u.mu.Unlock()
	u.log.Info("connected to the broker", "broker", url, "backlog", u.ob.stats().Events+u.ob.stats().Telemetry)

	var wg sync.WaitGroup
	defer wg.Wait()
	// The publisher also ends while the connection is up (a PUBACK later
	// than PublishTimeout): stop the heartbeats then too, before waiting
	// for them, or this connection would hang for good.
	defer cancel()
	wg.Go(func() { u.heartbeats(sctx) })

	p := &publisher{u: u, s: s, epoch: epoch, mark: mark, live: map[Class]uint64{}, back: map[Class]uint64{}}
	for _, c := range classes {
		p.live[c] = mark + 1
	}
	p.run(sctx)
}

// heartbeats appends a heartbeat now and every HeartbeatEvery while the
// connection lasts. While offline none are made: the hub learns about the
// outage from the will, and the first heartbeat after it carries the drops.
func (u *Uplink) heartbeats(ctx context.Context) {
	t := time.NewTicker(u.opt.HeartbeatEvery)
	defer t.Stop()
	for {
		if err := u.appendHeartbeat(ctx); err != nil && ctx.Err() == nil {
			u.log.Warn("cannot record heartbeat", "err", err)
		}
		select {
		case <-t.C:
		case <-ctx.Done():
			return
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
		Goroutines:      runtime.NumGoroutine(),
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

// publisher drains the outbox over one connection.
type publisher struct {
	u     *Uplink
	s     session
	epoch uint64
	mark  uint64           // last sequence number before this connection
	live  map[Class]uint64 // next sequence number to read above mark
	back  map[Class]uint64 // next sequence number to read up to mark
	// backlogAt is when the next backlog batch may go (the drain rate).
	backlogAt time.Time
}

func (p *publisher) run(ctx context.Context) {
	u := p.u
	for ctx.Err() == nil {
		p.publishInventory(ctx)
		batch, backlog, err := p.next()
		if err != nil {
			u.log.Error("cannot read the outbox", "err", err)
			return
		}
		if len(batch) == 0 {
			var wait <-chan time.Time
			var t *time.Timer
			if d := time.Until(p.backlogAt); d > 0 && p.hasBacklog() {
				t = time.NewTimer(d)
				wait = t.C
			}
			select {
			case <-u.ob.notify:
			case <-u.wake:
			case <-wait:
			case <-ctx.Done():
			}
			if t != nil {
				t.Stop()
			}
			continue
		}
		if !p.publish(ctx, batch) {
			return
		}
		if backlog && u.opt.BacklogRate > 0 {
			p.backlogAt = time.Now().Add(time.Duration(float64(len(batch)) / u.opt.BacklogRate * float64(time.Second)))
		}
	}
}

func (p *publisher) hasBacklog() bool {
	for _, c := range classes {
		if cs := p.u.ob.classStats(c); cs.Count > 0 && cs.First <= p.mark && p.back[c] <= p.mark {
			return true
		}
	}
	return false
}

// next picks what to publish: new records of this connection first (events,
// then telemetry), then the backlog when the drain rate allows.
func (p *publisher) next() (batch []entry, backlog bool, err error) {
	ob := p.u.ob
	for _, c := range classes {
		batch, err = ob.read(c, p.live[c], math.MaxUint64, p.u.opt.LiveBatch)
		if err != nil || len(batch) > 0 {
			return batch, false, err
		}
	}
	if time.Now().Before(p.backlogAt) {
		return nil, false, nil
	}
	for _, c := range classes {
		if p.back[c] > p.mark {
			continue
		}
		batch, err = ob.read(c, p.back[c], p.mark, p.u.opt.BacklogBatch)
		if err != nil || len(batch) > 0 {
			return batch, true, err
		}
		p.back[c] = p.mark + 1 // nothing left below the mark
	}
	return nil, false, nil
}

// publish sends a batch and waits for every PUBACK. Records are deleted only
// if all were acknowledged on this connection, with no loss in between.
func (p *publisher) publish(ctx context.Context, batch []entry) bool {
	u := p.u
	topic := map[wire.MessageType]string{wire.TypeEvent: u.id.Topic(wire.ChannelEvents), wire.TypeMetrics: u.id.Topic(wire.ChannelMetrics)}
	ds := make([]delivery, 0, len(batch))
	for _, e := range batch {
		payload, err := u.ob.payload(u.id, e)
		if err != nil {
			u.log.Error("cannot rebuild an outbox record", "seq", e.seq, "err", err)
			return false
		}
		ds = append(ds, p.s.Publish(topic[e.rec.typ], false, payload))
	}
	wctx, cancel := context.WithTimeout(ctx, u.opt.PublishTimeout)
	defer cancel()
	acks := make([]ack, 0, len(batch))
	for i, d := range ds {
		if err := d.Wait(wctx); err != nil {
			if ctx.Err() == nil {
				u.log.Warn("publish not acknowledged; will resend", "seq", batch[i].seq, "err", err)
			}
			return false
		}
		acks = append(acks, ack{class: batch[i].rec.class, seq: batch[i].seq})
	}
	// The epoch rule: a PUBACK counts only if the connection was never lost
	// while waiting for it.
	if u.epoch.Load() != p.epoch {
		return false
	}
	select {
	case <-p.s.Lost():
		return false
	default:
	}
	if err := u.ob.ack(ctx, acks, false); err != nil {
		return false
	}
	last := batch[len(batch)-1]
	if last.seq > p.mark {
		p.live[last.rec.class] = last.seq + 1
	} else {
		p.back[last.rec.class] = last.seq + 1
	}
	return true
}

// publishInventory sends the retained inventory if this connection has not
// sent the current one yet.
func (p *publisher) publishInventory(ctx context.Context) {
	u := p.u
	u.mu.Lock()
	inv, sent := u.inv, u.invSent
	u.mu.Unlock()
	if inv == nil || sent {
		return
	}
	payload, err := json.Marshal(inv)
	if err != nil {
		return
	}
	wctx, cancel := context.WithTimeout(ctx, u.opt.PublishTimeout)
	defer cancel()
	if err := p.s.Publish(u.id.Topic(wire.ChannelInventory), true, payload).Wait(wctx); err != nil {
		u.log.Warn("inventory not acknowledged; will resend", "err", err)
		return
	}
	u.mu.Lock()
	if u.inv == inv {
		u.invSent = true
	}
	u.mu.Unlock()
}
