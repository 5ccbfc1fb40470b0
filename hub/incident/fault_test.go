package incident

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// at is a time t seconds after an arbitrary start.
func at(t float64) time.Time {
	return time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC).Add(time.Duration(t * float64(time.Second)))
}

// The built-in flap detection: 6 changes within 30 minutes, 15 quiet
// minutes to leave.
var flap = DefaultPolicy().flap()

// change is one step of a fault's life: present (up) or cleared at second at.
type change struct {
	at float64
	up bool
}

// play feeds the changes to a fresh state and returns it with the index of
// the change that made the fault flapping (-1: none).
func play(r flapRule, changes ...change) (*faultState, int) {
	f, started := &faultState{}, -1
	for i, c := range changes {
		var now bool
		if c.up {
			now = f.raise(at(c.at), at(c.at), 0, r)
		} else {
			now = f.clear(at(c.at), r)
		}
		if now {
			if started >= 0 {
				panic("flapping started twice")
			}
			started = i
		}
	}
	return f, started
}

// blips is n short outages, one every step seconds from 0, each lasting
// 20 seconds.
func blips(n int, step float64) []change {
	var out []change
	for i := range n {
		out = append(out, change{float64(i) * step, true}, change{float64(i)*step + 20, false})
	}
	return out
}

func TestFaultStateFlapping(t *testing.T) {
	cases := []struct {
		name    string
		rule    flapRule
		changes []change
		started int // index of the change that made it flapping, -1 for none
	}{
		{"one episode is no flapping", flap, blips(1, 60), -1},
		{"the sixth change within the window makes it flapping", flap, blips(3, 60), 5},
		{"and only that one reports it", flap, blips(10, 60), 5},
		{"changes spread wider than the window never add up", flap, blips(6, 1000), -1},
		{"threshold 0 never flaps", flapRule{window: 30 * time.Minute, threshold: 0, quiet: 15 * time.Minute}, blips(20, 60), -1},
		{"a lower threshold flaps sooner", flapRule{window: 30 * time.Minute, threshold: 2, quiet: time.Minute}, blips(1, 60), 1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, started := play(c.rule, c.changes...)
			if started != c.started || f.flapping != (c.started >= 0) {
				t.Errorf("flapping started at change %d (flapping %v), want %d", started, f.flapping, c.started)
			}
			if len(f.transitions) > len(c.changes) {
				t.Errorf("%d changes kept of %d", len(f.transitions), len(c.changes))
			}
		})
	}
}

func TestFaultStateCalm(t *testing.T) {
	f, _ := play(flap, blips(3, 60)...) // last change at 140 s
	if end := f.quietEnd(flap); !end.Equal(at(140 + 15*60)) {
		t.Fatalf("quiet end %v, want 15 minutes after the last change", end)
	}
	cases := []struct {
		now  float64
		calm bool
	}{
		{140, false},
		{140 + 15*60 - 1, false},
		{140 + 15*60, true}, // exactly the quiet time
	}
	for _, c := range cases {
		g := *f
		g.transitions = append([]time.Time(nil), f.transitions...)
		if got := g.calm(at(c.now), flap); got != c.calm || g.flapping == c.calm {
			t.Errorf("at %v s: calm %v (flapping %v), want calm %v", c.now, got, g.flapping, c.calm)
		}
		if c.calm && len(g.transitions) != 0 {
			t.Errorf("at %v s: a calm fault keeps its changes %v", c.now, g.transitions)
		}
	}
	if quiet := (&faultState{}); quiet.calm(at(1e6), flap) {
		t.Error("a fault that never flapped became calm")
	}
}

func TestFaultStateHoldDownAndHoldUp(t *testing.T) {
	const holdDown, settle, holdUp = 5 * time.Minute, time.Minute, 2 * time.Minute
	type want struct {
		pending, settled bool
		holdDownEnd      float64 // seconds, asked at now
		holdUpEnd        float64 // seconds, when settled
	}
	cases := []struct {
		name  string
		state func() *faultState
		now   float64
		want  want
	}{
		{"present: the hold-down counts from the episode's start",
			func() *faultState { f, _ := play(flap, change{10, true}); return f }, 10,
			want{pending: true, holdDownEnd: 310}},
		{"asked after the hold-down: now",
			func() *faultState { f, _ := play(flap, change{10, true}); return f }, 400,
			want{pending: true, holdDownEnd: 400}},
		{"replayed: also the settle time after the hub first saw it",
			func() *faultState {
				f := &faultState{}
				f.raise(at(10), at(3600), 3590*time.Second, flap) // confirmed at 10 s, received an hour later
				return f
			}, 3600,
			want{pending: true, holdDownEnd: 3660}},
		{"a transit within the lateness: live, the plain hold-down",
			func() *faultState {
				f := &faultState{}
				f.raise(at(10), at(40), 30*time.Second, flap)
				return f
			}, 40,
			want{pending: true, holdDownEnd: 310}},
		{"flapping and present: at once, whatever the hold-down",
			func() *faultState { f, _ := play(flap, append(blips(3, 60), change{145, true})...); return f }, 150,
			want{pending: true, holdDownEnd: 150}},
		{"cleared: the hold-up counts from the clearing",
			func() *faultState { f, _ := play(flap, change{10, true}, change{400, false}); return f }, 400,
			want{settled: true, holdDownEnd: 400, holdUpEnd: 520}},
		{"cleared but flapping: it still asks for an incident, at once, and does not recover",
			func() *faultState { f, _ := play(flap, blips(3, 60)...); return f }, 150,
			want{pending: true, holdDownEnd: 150}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := c.state()
			if f.pending() != c.want.pending || f.settled() != c.want.settled {
				t.Errorf("pending %v settled %v, want %v %v", f.pending(), f.settled(), c.want.pending, c.want.settled)
			}
			if got := f.holdDownEnd(at(c.now), holdDown, replay{lateAfter: time.Minute, settle: settle}); !got.Equal(at(c.want.holdDownEnd)) {
				t.Errorf("hold-down ends %v, want %v", got, at(c.want.holdDownEnd))
			}
			if c.want.settled {
				if got := f.holdUpEnd(holdUp); !got.Equal(at(c.want.holdUpEnd)) {
					t.Errorf("hold-up ends %v, want %v", got, at(c.want.holdUpEnd))
				}
			}
		})
	}
}

// A settled fault is forgotten only once the flap window has passed
// without a change, so that its changes still count if it comes back.
func TestFaultStateIdle(t *testing.T) {
	f, _ := play(flap, change{0, true}, change{60, false})
	window := 30 * 60.0
	for _, c := range []struct {
		now  float64
		idle bool
	}{{60, false}, {60 + window, false}, {60 + window + 0.001, true}} {
		if got := f.idle(at(c.now), flap); got != c.idle {
			t.Errorf("at %v s: idle %v, want %v", c.now, got, c.idle)
		}
	}
	if got := f.idleAt(flap); !got.Equal(at(60+window+1)) || !f.idle(got, flap) {
		t.Errorf("idle at %v", got)
	}
	if g, _ := play(flap, change{0, true}); g.idle(at(1e6), flap) {
		t.Error("a fault still present is idle")
	}
}

func TestReplayTimingsScaleToTheHoldDown(t *testing.T) {
	pol := DefaultPolicy() // late after a minute, a minute's settle
	cases := []struct {
		name         string
		holdDown     time.Duration
		late, settle time.Duration
	}{
		{"no hold-down: the policy's timings", 0, time.Minute, time.Minute},
		{"the default hold-downs of minutes: the policy's timings", 2 * time.Minute, time.Minute, time.Minute},
		{"a minute and a half: late after half of it", 90 * time.Second, 45 * time.Second, time.Minute},
		{"seconds: late after half, settle the hold-down", 10 * time.Second, 5 * time.Second, 10 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := pol.replayFor(c.holdDown); got.lateAfter != c.late || got.settle != c.settle {
				t.Errorf("hold-down %v: late after %v, settle %v; want %v, %v", c.holdDown, got.lateAfter, got.settle, c.late, c.settle)
			}
		})
	}
	for _, info := range wire.Vocabulary() {
		r := DefaultRule(info.Code)
		if r.HoldDown > 0 && pol.replayFor(r.HoldDown) != (replay{pol.LateAfter, pol.ReplaySettle}) {
			t.Errorf("%s: the default rule's hold-down %v changes the replay timings", info.Code, r.HoldDown)
		}
	}
}
