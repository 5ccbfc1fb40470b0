package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// ErrStopped is returned by Handle and Do once the writer has stopped.
var ErrStopped = errors.New("ingest: stopped")

// MaxBatch bounds the messages committed in one transaction.
const MaxBatch = 2048

// Pipeline checks messages and feeds them, batched, to the engine and store.
type Pipeline struct {
	eng     *incident.Engine
	st      Store
	clk     clock.Clock
	log     *slog.Logger
	metrics *Metrics
	ring    *Ring
	answers Answers

	gaps    map[wire.AgentID]uint64 // last exported gap count, writer only
	in      chan *item
	actions chan *action
	done    chan struct{}
	err     error
}

type item struct {
	ch   wire.Channel
	msg  wire.Message
	fn   func(*incident.Engine) // instead of a message: After
	at   time.Time
	done chan error  // Handle waits on it
	cb   func(error) // or HandleAsync's completion
}

func (it *item) reply(err error) {
	if it.cb != nil {
		it.cb(err)
		return
	}
	it.done <- err
}

type action struct {
	fn   func(*incident.Engine) (incident.Changes, error)
	done chan error
}

// Options configures a Pipeline.
type Options struct {
	Engine  *incident.Engine
	Store   Store
	Clock   clock.Clock
	Log     *slog.Logger
	Metrics *Metrics
	// Keep is how many rejected messages are kept for inspection.
	Keep int
	// Answers receives remote query answers (cmd/res); without it they are
	// counted and ignored.
	Answers Answers
}

// Store is where the pipeline commits what the engine decided (the hub's
// store): one change set per batch, atomically. Commit must not keep the
// change set's slices after it returns: the engine reuses their arrays for
// the next batch (Engine.Recycle).
type Store interface {
	Commit(c incident.Changes) error
}

// Answers takes the agents' answers to remote queries once they decoded
// strictly and their identity matched the topic. They never reach the
// engine or the store: the query service audits them.
type Answers interface {
	Answer(from wire.AgentID, res *wire.CommandResponse, at time.Time)
}

// New returns a pipeline; call Run to start its writer.
func New(o Options) *Pipeline {
	if o.Clock == nil {
		o.Clock = clock.Real{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Keep <= 0 {
		o.Keep = 256
	}
	return &Pipeline{eng: o.Engine, st: o.Store, clk: o.Clock, log: o.Log, metrics: o.Metrics, ring: NewRing(o.Keep), answers: o.Answers,
		gaps: map[wire.AgentID]uint64{}, in: make(chan *item, MaxBatch), actions: make(chan *action), done: make(chan struct{})}
}

// Rejected returns the kept rejected messages, newest first.
func (p *Pipeline) Rejected() []Rejected { return p.ring.List() }

func (p *Pipeline) reject(topic, client, reason string, err error, payload []byte) {
	p.metrics.Rejected.WithLabelValues(reason).Inc()
	p.ring.Add(Rejected{At: p.clk.Now(), Topic: topic, Client: client, Reason: reason, Error: err.Error()}, payload)
	p.log.Debug("message rejected", "topic", topic, "client", client, "reason", reason, "err", err)
}

func reasonOf(err error) string {
	var de *wire.DecodeError
	if !errors.As(err, &de) {
		return "malformed"
	}
	switch de.Kind {
	case wire.ErrUnsupportedVersion:
		return "unsupported_version"
	case wire.ErrWrongType:
		return "wrong_type"
	case wire.ErrInvalid:
		return "invalid"
	case wire.ErrTooLarge:
		return "too_large"
	}
	return "malformed"
}

// Handle takes one message as the broker delivered it. client names the
// sender for the rejection log (may be empty). It returns nil once the
// message is committed or has been rejected (a rejected message must not be
// redelivered), and an error only if it could not be committed: then the
// broker must not acknowledge it.
func (p *Pipeline) Handle(ctx context.Context, topic string, payload []byte, client string) error {
	it := p.check(topic, payload, client)
	if it == nil {
		return nil
	}
	it.done = make(chan error, 1)
	if err := p.enqueue(ctx, it); err != nil {
		return err
	}
	select {
	case err := <-it.done:
		return err
	case <-p.done:
		return ErrStopped
	}
}

// HandleAsync is Handle without waiting: it returns once the message is
// queued for the writer (so messages handed over one after the other are
// applied in that order) and calls done exactly once, with what Handle
// would have returned: at once for a message that is not committed
// (rejected, ignored, answered) or could not be queued, otherwise from the
// committer once its batch is committed. done must not block. A message
// queued as the pipeline stops may never get its done call: it stays
// unacknowledged and the broker delivers it again.
func (p *Pipeline) HandleAsync(ctx context.Context, topic string, payload []byte, client string, done func(error)) {
	it := p.check(topic, payload, client)
	if it == nil {
		done(nil)
		return
	}
	it.cb = done
	if err := p.enqueue(ctx, it); err != nil {
		done(err)
	}
}

// After runs fn on the engine in the writer once every message handed over
// before it has been applied (it is queued behind them, and applied within
// their batch), and calls done like HandleAsync: once that batch is
// committed. A broker's end-of-backlog marker is one: what it says holds
// only after what came before it.
func (p *Pipeline) After(ctx context.Context, fn func(*incident.Engine), done func(error)) {
	if err := p.enqueue(ctx, &item{fn: fn, at: p.clk.Now(), cb: done}); err != nil {
		done(err)
	}
}

func (p *Pipeline) enqueue(ctx context.Context, it *item) error {
	select {
	case p.in <- it:
		return nil
	case <-p.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
}

// check decodes and checks a message; it returns the item to commit, or
// nil for one that is done with here (rejected, ignored, answered).
func (p *Pipeline) check(topic string, payload []byte, client string) *item {
	at := p.clk.Now()
	id, ch, err := wire.ParseTopic(topic)
	if err != nil {
		p.reject(topic, client, "topic", err, payload)
		return nil
	}
	switch {
	case ch == wire.ChannelCmdReq, ch == wire.ChannelConfig:
		return nil // the hub's own requests and configurations to agents
	case ch == wire.ChannelCmdRes && p.answers == nil:
		p.metrics.Messages.WithLabelValues(string(ch), "ignored").Inc()
		return nil
	}
	msg, err := wire.DecodeChannel(ch, payload)
	if err != nil {
		p.reject(topic, client, reasonOf(err), err, payload)
		return nil
	}
	if h := msg.Head(); h.AgentID != id {
		p.reject(topic, client, "identity_mismatch",
			fmt.Errorf("payload says %s, topic says %s", h.AgentID, id), payload)
		return nil
	}
	if res, ok := msg.(*wire.CommandResponse); ok {
		p.metrics.Messages.WithLabelValues(string(ch), "answered").Inc()
		p.answers.Answer(id, res, at)
		return nil
	}
	return &item{ch: ch, msg: msg, at: at}
}

// Do runs an action on the engine in the writer and commits its changes.
func (p *Pipeline) Do(ctx context.Context, fn func(*incident.Engine) (incident.Changes, error)) error {
	a := &action{fn: fn, done: make(chan error, 1)}
	select {
	case p.actions <- a:
	case <-p.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-a.done:
		return err
	case <-p.done:
		return ErrStopped
	}
}

// GiveUp stops waiting for an agent's missing numbers that it no longer
// has (hub/resend's Recorder), committed like any change.
func (p *Pipeline) GiveUp(ctx context.Context, agent wire.AgentID, spans []wire.SeqSpan) error {
	return p.Do(ctx, func(e *incident.Engine) (incident.Changes, error) { return e.GiveUp(agent, spans), nil })
}

// Run is the writer: it applies batches, runs the engine's timers and
// hands each change set to a committer goroutine, so the next batch is
// applied while the previous one is being written and synced. At most two
// change sets are in flight. A store that cannot commit stops it with an
// error (the hub then exits and restarts from disk; unacknowledged messages
// are redelivered by the broker).
func (p *Pipeline) Run(ctx context.Context) error {
	defer func() {
		close(p.done)
		for { // what HandleAsync queued and the writer did not take
			select {
			case it := <-p.in:
				if it.cb != nil {
					it.cb(ErrStopped)
				}
			default:
				return
			}
		}
	}()
	jobs := make(chan *job, 1)
	failed := make(chan error, 1)
	committed := make(chan struct{})
	go func() {
		defer close(committed)
		var err error
		for j := range jobs {
			if err == nil {
				err = p.commit(j)
				if err != nil {
					failed <- err
				}
			}
			j.reply(err)
			if err == nil && p.eng != nil {
				p.eng.Recycle(&j.c) // committed: its arrays serve the next batch
			}
		}
	}()
	err := p.loop(ctx, jobs, failed)
	close(jobs)
	<-committed
	return err
}

type job struct {
	c      incident.Changes
	items  []*item
	act    *action
	oldest time.Time
}

func (j *job) reply(err error) {
	if err == nil && j.act == nil && len(j.items) == 0 {
		return
	}
	for _, it := range j.items {
		it.reply(err)
	}
	if j.act != nil {
		j.act.done <- err
	}
}

func (p *Pipeline) loop(ctx context.Context, jobs chan<- *job, failed <-chan error) error {
	// untilDeadline is a timer for the engine's next deadline (a minute
	// without one).
	untilDeadline := func() clock.Timer {
		wait := time.Minute
		if next := p.eng.NextDeadline(); !next.IsZero() {
			wait = next.Sub(p.clk.Now())
		}
		return p.clk.NewTimer(wait)
	}
	// send hands a change set to the committer, which has at most one
	// more waiting. While it is busy, a deadline that comes is decided at
	// once, into j: a slow commit (1 s seen after a 10,000-store burst,
	// docs/benchmarks.md) would otherwise hold every ticket due meanwhile
	// until j was handed over, and commit it one change set later.
	send := func(j *job) error {
		select {
		case jobs <- j:
			return nil
		default:
		}
		for {
			timer := untilDeadline()
			select {
			case jobs <- j:
				timer.Stop()
				return nil
			case err := <-failed:
				timer.Stop()
				j.reply(err)
				return err
			case <-timer.C():
				j.c.Merge(p.eng.Tick())
			}
		}
	}
	for {
		timer := untilDeadline()
		select {
		case <-ctx.Done():
			timer.Stop()
			return nil
		case err := <-failed:
			timer.Stop()
			return err
		case <-timer.C():
			if err := send(&job{c: p.eng.Tick()}); err != nil {
				return err
			}
		case it := <-p.in:
			timer.Stop()
			if err := send(p.batch(it)); err != nil {
				return err
			}
		case a := <-p.actions:
			timer.Stop()
			c, err := a.fn(p.eng)
			if err != nil {
				a.done <- err
				continue
			}
			c.Merge(p.eng.Tick())
			if err := send(&job{c: c, act: a}); err != nil {
				return err
			}
		}
	}
}

func (p *Pipeline) batch(first *item) *job {
	items := []*item{first}
	for len(items) < MaxBatch {
		select {
		case it := <-p.in:
			items = append(items, it)
			continue
		default:
		}
		break
	}
	j := &job{items: items}
	p.eng.Hold()
	for _, it := range items {
		if it.fn != nil {
			it.fn(p.eng)
			continue
		}
		_, out := p.apply(it) // the changes are held by the engine until Release
		p.metrics.Messages.WithLabelValues(string(it.ch), out.String()).Inc()
		if j.oldest.IsZero() || it.at.Before(j.oldest) {
			j.oldest = it.at
		}
	}
	p.eng.Tick()
	j.c = p.eng.Release()
	p.countGaps(j.c)
	return j
}

func (p *Pipeline) apply(it *item) (incident.Changes, incident.Outcome) {
	switch m := it.msg.(type) {
	case *wire.Status:
		return p.eng.Status(m, it.at)
	case *wire.Inventory:
		return p.eng.Inventory(m, it.at), incident.Applied
	case *wire.Event:
		return p.eng.Event(m, it.at)
	case *wire.Metrics:
		return p.eng.Metrics(m, it.at)
	}
	return incident.Changes{}, incident.Ignored
}

// countGaps exports growth of the agents' gap counters.
func (p *Pipeline) countGaps(c incident.Changes) {
	for _, a := range c.Agents {
		if prev := p.gaps[a.ID()]; a.Seq.Gaps > prev {
			p.metrics.Gaps.Add(float64(a.Seq.Gaps - prev))
		}
		p.gaps[a.ID()] = a.Seq.Gaps
	}
}

func (p *Pipeline) commit(j *job) error {
	start := time.Now()
	err := p.st.Commit(j.c)
	if !j.c.Empty() {
		p.metrics.CommitSeconds.Observe(time.Since(start).Seconds())
	}
	if n := len(j.items); n > 0 {
		p.metrics.BatchSize.Observe(float64(n))
	}
	if err != nil {
		p.log.Error("commit failed; stopping", "err", err)
		return err
	}
	p.metrics.changes(&j.c)
	if !j.oldest.IsZero() {
		for _, n := range j.c.Notifications {
			if n.Kind == incident.NotifyOpened && !n.At.Before(j.oldest) {
				p.metrics.ToTicket.Observe(p.clk.Now().Sub(j.oldest).Seconds())
			}
		}
	}
	return nil
}
