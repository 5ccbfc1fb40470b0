package incident

import "time"

// One alert's state machine: whether its fault is present, since when,
// when the hold-down and hold-up are over, and whether it flaps. It is pure,
// times in and answers out; the engine owns the rules, the incidents and
// the clock, and asks it.

// faultState is the state of one fault (one alert): present (active) or
// cleared. Every change is counted in a sliding window; enough changes
// within it make the fault flapping, until it has been quiet long enough.
type faultState struct {
	active  bool
	since   time.Time     // when the current (or last) episode began
	seen    time.Time     // hub time the episode was first seen
	transit time.Duration // how long after the agent confirmed it the hub saw it
	cleared time.Time     // when the fault last cleared

	transitions []time.Time // the changes within the flap window
	lastChange  time.Time
	flapping    bool
}

// flapRule is the policy's flap detection.
type flapRule struct {
	window    time.Duration // changes are counted within it
	threshold int           // this many make a fault flapping; 0: never
	quiet     time.Duration // the calm needed to leave flapping
}

func (p Policy) flap() flapRule { return flapRule{p.FlapWindow, p.FlapThreshold, p.FlapQuiet} }

// raise records that the fault is present since since, first seen by the
// hub at seen, transit after the agent confirmed it (long: replayed from an
// outbox or a broker's backlog). It reports whether this change made the
// fault flapping.
func (f *faultState) raise(since, seen time.Time, transit time.Duration, r flapRule) bool {
	f.active, f.since, f.seen, f.transit = true, since, seen, transit
	return f.change(since, r)
}

// clear records that the fault cleared at at. It reports whether this
// change made the fault flapping.
func (f *faultState) clear(at time.Time, r flapRule) bool {
	f.active, f.cleared = false, at
	return f.change(at, r)
}

func (f *faultState) change(t time.Time, r flapRule) bool {
	if t.After(f.lastChange) {
		f.lastChange = t
	}
	f.transitions = append(f.transitions, t)
	cut := 0
	for cut < len(f.transitions) && f.transitions[cut].Before(t.Add(-r.window)) {
		cut++
	}
	f.transitions = f.transitions[cut:]
	if r.threshold > 0 && len(f.transitions) >= r.threshold && !f.flapping {
		f.flapping = true
		return true
	}
	return false
}

// quietEnd is when a flapping fault stops flapping if nothing changes.
func (f *faultState) quietEnd(r flapRule) time.Time { return f.lastChange.Add(r.quiet) }

// calm ends flapping once the fault has been quiet for long enough; it
// reports whether it did.
func (f *faultState) calm(now time.Time, r flapRule) bool {
	if !f.flapping || now.Before(f.quietEnd(r)) {
		return false
	}
	f.flapping, f.transitions = false, nil
	return true
}

// pending reports whether the fault asks for an incident: it is present,
// or flapping (a flapping fault is a problem even if every episode is
// shorter than the hold-down).
func (f *faultState) pending() bool { return f.active || f.flapping }

// settled reports whether the fault is cleared and calm: its incident may
// recover once the hold-up is over.
func (f *faultState) settled() bool { return !f.active && !f.flapping }

// holdDownEnd is the earliest time from now on at which the fault's hold-down
// is over: holdDown after the episode began (at once while flapping) and,
// for a replayed episode, the replay's settle time after the hub first saw
// it.
func (f *faultState) holdDownEnd(now time.Time, holdDown time.Duration, rp replay) time.Time {
	t := now
	if !f.flapping && f.since.Add(holdDown).After(t) {
		t = f.since.Add(holdDown)
	}
	if f.transit > rp.lateAfter && f.seen.Add(rp.settle).After(t) {
		t = f.seen.Add(rp.settle)
	}
	return t
}

// holdUpEnd is when a cleared fault has stayed cleared for holdUp.
func (f *faultState) holdUpEnd(holdUp time.Duration) time.Time { return f.cleared.Add(holdUp) }

// idle reports whether a settled fault has not changed for longer than the
// flap window: nothing of it is needed any more. idleAt is the first
// whole second at which that holds.
func (f *faultState) idle(now time.Time, r flapRule) bool {
	return f.settled() && now.Sub(f.lastChange) > r.window
}

func (f *faultState) idleAt(r flapRule) time.Time { return f.lastChange.Add(r.window + time.Second) }
