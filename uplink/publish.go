package uplink

import (
	"context"
	"encoding/json"
	"math"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// publisher drains the outbox over one connection. Its reader goroutine
// (run) reads records ahead from bbolt and publishes them while up to
// InFlight messages wait for their PUBACK; its acker takes the PUBACKs in
// the order the messages went out and hands the acknowledged records to
// the outbox writer for deletion in groups. The link never idles waiting
// for a whole batch, and bbolt never sees one transaction per message.
//
// A record counts as acknowledged only if its PUBACK arrived while the
// connection was unbroken (the uplink's epoch unchanged and the session
// not lost). Any failure (a loss, a PUBACK that does not come within
// StallTimeout) ends the connection; the next one starts reading again
// from the oldest record still on disk, so nothing is skipped and order is
// kept after the hub's dedup. A PUBACK later than PublishTimeout on a live
// connection is only warned about (see Options.StallTimeout).
type publisher struct {
	u     *Uplink
	s     session
	epoch uint64
	mark  uint64           // last sequence number before this connection
	live  map[Class]uint64 // next sequence number to read above mark
	back  map[Class]uint64 // next sequence number to read up to mark
	// backlogAt is when the next backlog batch may go (the drain rate).
	backlogAt time.Time

	slots    chan struct{} // one per message awaiting its PUBACK
	inflight chan flight   // those messages, in publishing order
	topics   map[wire.MessageType]string
}

type flight struct {
	ack ack
	d   delivery
}

// ackGroup is the most acknowledgements handed to the writer at once; fewer
// go when nothing else is in flight.
const ackGroup = 256

func newPublisher(u *Uplink, s session, epoch, mark uint64) *publisher {
	p := &publisher{u: u, s: s, epoch: epoch, mark: mark, live: map[Class]uint64{}, back: map[Class]uint64{},
		slots: make(chan struct{}, u.opt.InFlight), inflight: make(chan flight, u.opt.InFlight),
		topics: map[wire.MessageType]string{wire.TypeEvent: u.id.Topic(wire.ChannelEvents), wire.TypeMetrics: u.id.Topic(wire.ChannelMetrics)}}
	for _, c := range classes {
		p.live[c] = mark + 1
	}
	return p
}

// run publishes until the connection fails or ctx ends.
func (p *publisher) run(ctx context.Context) {
	u := p.u
	ctx, cancel := context.WithCancel(ctx)
	acked := make(chan struct{})
	go func() {
		defer close(acked)
		defer cancel() // a failed PUBACK stops the reader too
		p.acker(ctx)
	}()
	defer func() { cancel(); <-acked }()
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
		for _, e := range batch {
			if !p.publish(ctx, e) {
				return
			}
		}
		if backlog && u.opt.BacklogRate > 0 {
			p.backlogAt = time.Now().Add(time.Duration(float64(len(batch)) / u.opt.BacklogRate * float64(time.Second)))
		}
	}
}

// publish sends one record once a slot in the window is free.
func (p *publisher) publish(ctx context.Context, e entry) bool {
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return false
	}
	payload, err := p.u.ob.payload(e)
	if err != nil {
		p.u.log.Error("cannot rebuild an outbox record", "seq", e.seq, "err", err)
		return false
	}
	p.inflight <- flight{ack: ack{class: e.rec.class, seq: e.seq}, d: p.s.Publish(p.topics[e.rec.typ], false, payload)}
	if e.seq > p.mark {
		p.live[e.rec.class] = e.seq + 1
	} else {
		p.back[e.rec.class] = e.seq + 1
	}
	return true
}

// acker waits for each message's PUBACK in publishing order and hands the
// acknowledged records to the writer. It returns at the first failure.
func (p *publisher) acker(ctx context.Context) {
	u := p.u
	var acks []ack
	hand := func() {
		if len(acks) > 0 {
			// Not ctx: these PUBACKs arrived on an unbroken connection,
			// and ending the connection must not lose them.
			if err := u.ob.ack(context.Background(), acks, false); err != nil && ctx.Err() == nil {
				u.log.Warn("cannot record acknowledgements; the messages will go again", "err", err)
			}
			acks = nil
		}
	}
	defer hand()
	timeout := time.NewTimer(u.opt.PublishTimeout)
	defer timeout.Stop()
	for {
		var f flight
		select {
		case f = <-p.inflight:
		default:
			hand() // nothing more in flight: let the writer delete what is done
			select {
			case f = <-p.inflight:
			case <-ctx.Done():
				return
			}
		}
		if !p.await(ctx, f, timeout) {
			return
		}
		if err := f.d.Err(); err != nil {
			if ctx.Err() == nil {
				u.log.Warn("publish not acknowledged; will resend", "seq", f.ack.seq, "err", err)
			}
			return
		}
		// The epoch rule: a PUBACK counts only if the connection was never
		// lost before it arrived.
		if u.epoch.Load() != p.epoch {
			return
		}
		select {
		case <-p.s.Lost():
			return
		default:
		}
		acks = append(acks, f.ack)
		<-p.slots
		if len(acks) >= ackGroup {
			hand()
		}
	}
}

// await waits for f's PUBACK while the connection lasts: past
// PublishTimeout it warns and goes on waiting, past StallTimeout it gives
// the connection up. It reports whether the PUBACK came.
func (p *publisher) await(ctx context.Context, f flight, timeout *time.Timer) bool {
	u := p.u
	timeout.Reset(u.opt.PublishTimeout)
	waited := u.opt.PublishTimeout
	for {
		select {
		case <-f.d.Done():
			if waited > u.opt.PublishTimeout {
				u.log.Info("late acknowledgement arrived; publishing goes on", "seq", f.ack.seq)
			}
			return true
		case <-p.s.Lost():
			return false
		case <-ctx.Done():
			return false
		case <-timeout.C:
		}
		if waited >= u.opt.StallTimeout {
			u.log.Warn("publish not acknowledged on a live connection; reconnecting, it will go again", "seq", f.ack.seq, "waited", waited)
			return false
		}
		if waited == u.opt.PublishTimeout {
			u.log.Warn("broker slow to acknowledge; waiting on the live connection", "seq", f.ack.seq, "waited", waited, "gives_up_after", u.opt.StallTimeout)
		}
		timeout.Reset(u.opt.StallTimeout - waited)
		waited = u.opt.StallTimeout
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
