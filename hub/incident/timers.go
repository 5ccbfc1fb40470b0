package incident

import (
	"container/heap"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Time: Tick evaluates the alerts that changed or whose deadline came,
// NextDeadline says when it is next needed, and openAt is when an alert may
// open an incident (hold-down, replay settle, the agent's start-up, trading
// hours and grace, maintenance windows, the hub's own outage).

// Tick opens, resolves and re-prioritises whatever is due at the clock's now.
func (e *Engine) Tick() Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	clear(e.counted)
	e.tickListen(now)
	e.tickOutage(now) // before the alerts: ending an outage rechecks them
	due := e.changed
	e.changed = nil
	if e.recheck {
		due = due[:0]
		for _, a := range e.alerts {
			a.queued = time.Time{}
			due = append(due, a)
		}
		e.deadlines = e.deadlines[:0]
		e.recheck = false
	}
	for len(e.deadlines) > 0 && !e.deadlines[0].at.After(now) {
		d := heap.Pop(&e.deadlines).(deadline)
		if d.valid(e) {
			d.a.queued = time.Time{}
			due = append(due, d.a)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].key < due[j].key })
	var last *alert
	for _, a := range due {
		if a == last || e.alerts[a.key] != a {
			continue // listed twice, or deleted by an earlier evaluation
		}
		last = a
		e.evaluate(a, now)
		a.dirty = false
		a.next = e.nextFor(a, now)
		if !a.next.IsZero() && !a.queued.Equal(a.next) && e.alerts[a.key] == a {
			heap.Push(&e.deadlines, deadline{a.next, a})
			a.queued = a.next
		}
	}
	e.reprioritise(now)
	return e.take()
}

// markDirty queues an alert for evaluation at the next tick.
func (e *Engine) markDirty(a *alert) {
	if !a.dirty {
		a.dirty = true
		e.changed = append(e.changed, a)
	}
}

// deadline is an alert's next evaluation time; deadlines is a min-heap of
// them. Entries go stale when the alert's next changes; they are skipped.
type deadline struct {
	at time.Time
	a  *alert
}

// valid reports whether the entry is still the alert's queued deadline.
func (d deadline) valid(e *Engine) bool { return d.a.queued.Equal(d.at) && e.alerts[d.a.key] == d.a }

type deadlines []deadline

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlines) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlines) Push(x any)        { *h = append(*h, x.(deadline)) }

func (h *deadlines) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (e *Engine) frozen(a *alert) bool {
	if !e.listenUntil.IsZero() {
		return true // catching up: what it knows may be behind in the broker
	}
	if e.outage.blind() && e.outage.holds(a) {
		return true // the hub cannot hear: nothing it knows is current
	}
	if a.kind != KindFault {
		return false
	}
	d := a.dev
	return d == nil || d.rec.Reported == wire.StateUnknown || d.rec.Reported == wire.StateBusy || e.deviceStale(d)
}

func (e *Engine) evaluate(a *alert, now time.Time) {
	if e.frozen(a) {
		return
	}
	if a.calm(now, e.pol.flap()) && a.inc != nil && a.inc.State.Live() {
		e.markFlapping(a.inc, a, now, false)
	}
	if a.active && !a.counted && !now.Before(a.since.Add(e.pol.ChronicMin)) {
		a.counted = true
		e.recordEpisode(a, now)
	}
	switch {
	case a.inc == nil && a.pending():
		if t, ok := e.openAt(a, now); ok && !t.After(now) {
			e.open(a, now)
		}
	case a.inc != nil && a.inc.State.Live() && a.inc.RecoveredAt.IsZero() && a.settled():
		if !now.Before(a.holdUpEnd(e.rule(a).HoldUp)) {
			e.recover(a, now)
		}
	}
	if a.inc == nil && a.idle(now, e.pol.flap()) {
		delete(e.alerts, a.key)
		if d := a.dev; d != nil {
			d.dropAlert(a)
		}
	}
}

// NextDeadline returns when Tick next has something to do (the zero time if
// nothing is pending). Loops sleep until then or until new input arrives.
func (e *Engine) NextDeadline() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	if e.recheck || len(e.dirty) > 0 || len(e.changed) > 0 {
		return now
	}
	next := e.outageNext()
	if l := e.listenUntil; !l.IsZero() && (next.IsZero() || l.Before(next)) {
		next = l
	}
	for len(e.deadlines) > 0 {
		d := e.deadlines[0]
		if !d.valid(e) {
			heap.Pop(&e.deadlines) // stale
			continue
		}
		if next.IsZero() || d.at.Before(next) {
			next = d.at
		}
		break
	}
	if !next.IsZero() && next.Before(now) {
		return now
	}
	return next
}

// nextFor returns when the alert next needs evaluating if nothing changes.
func (e *Engine) nextFor(a *alert, now time.Time) time.Time {
	if e.frozen(a) {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time) {
		if t.Before(now) {
			t = now
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if a.flapping {
		consider(a.quietEnd(e.pol.flap()))
	}
	if a.active && !a.counted {
		consider(a.since.Add(e.pol.ChronicMin))
	}
	switch {
	case a.inc == nil && a.pending():
		if t, ok := e.openAt(a, now); ok {
			consider(t)
		}
	case a.inc != nil && a.inc.State.Live() && a.inc.RecoveredAt.IsZero() && a.settled():
		consider(a.holdUpEnd(e.rule(a).HoldUp))
	}
	if a.inc == nil && a.settled() {
		consider(a.idleAt(e.pol.flap()))
	}
	return next
}

func (e *Engine) rule(a *alert) Rule {
	kind := ""
	if a.dev != nil {
		kind = a.dev.rec.Kind
	}
	return e.pol.For(kind, a.code)
}

// openAt returns the earliest time from now on at which the alert may open an
// incident if nothing changes, or false if it never will.
func (e *Engine) openAt(a *alert, now time.Time) (time.Time, bool) {
	r := e.rule(a)
	if (r.Never && !a.flapping) || (a.active && a.since.Equal(a.closedEp) && !a.flapping) {
		return time.Time{}, false
	}
	t := a.holdDownEnd(now, r.HoldDown, e.pol.replayFor(r.HoldDown))
	if g, ok := e.startupEnd(a); ok && !a.flapping && g.Add(r.HoldDown).After(t) {
		t = g.Add(r.HoldDown)
	}
	if e.outage.holds(a) && e.outage.settleEnd.After(t) {
		t = e.outage.settleEnd // after the hub's own outage it listens first
	}
	s := a.st
	for range 64 {
		moved := false
		if s != nil && len(s.rec.Info.Hours) > 0 {
			since, open := s.rec.Info.Hours.OpenSince(t, s.loc)
			if !open {
				ops := s.rec.Info.Hours.Openings(t, t.Add(8*24*time.Hour), s.loc)
				if len(ops) == 0 {
					return time.Time{}, false
				}
				t, moved = ops[0].From, true
			} else if !since.IsZero() && t.Before(since.Add(e.pol.Grace)) {
				t, moved = since.Add(e.pol.Grace), true
			}
		}
		for _, w := range e.windows {
			if w.Tenant == a.tenant && w.Store == a.store && (w.Device == "" || w.Device == a.device) &&
				!t.Before(w.Start) && t.Before(w.End.Add(e.pol.Grace)) {
				t, moved = w.End.Add(e.pol.Grace), true
			}
		}
		if !moved {
			return t, true
		}
	}
	return t, true
}

func (e *Engine) local(a *alert, t time.Time) string {
	loc := time.UTC
	if s := e.stores[a.tenant+"/"+a.store]; s != nil {
		loc = s.loc
	}
	return e.pol.Display.At(t).In(loc).Format("2006-01-02 15:04:05 MST")
}

// dur says a policy duration as people read it, in store time: 3m, 1h30m,
// 168h (not 3m0s).
func (e *Engine) dur(d time.Duration) string { return Human(e.pol.Display.Dur(d)) }

// Human writes a duration without trailing zero units: 3m, 1m19s, 168h.
func Human(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
