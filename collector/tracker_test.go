package collector

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

var t0 = time.Date(2026, 11, 23, 8, 0, 0, 0, time.UTC)

func obs(sec int, codes ...wire.FaultCode) observation {
	o := observation{at: t0.Add(time.Duration(sec) * time.Second)}
	for _, c := range codes {
		o.faults = append(o.faults, wire.NewFault(c, ""))
	}
	return o
}

// step is one reading and the state change it should confirm ("" for none).
type step struct {
	o    observation
	want wire.HealthState
}

func TestTrackerRules(t *testing.T) {
	cases := []struct {
		name     string
		debounce int
		grace    time.Duration
		steps    []step
	}{
		{"first healthy reading is reported at once", 2, 0, []step{
			{obs(0), wire.StateOK},
			{obs(10), ""},
		}},
		{"a single failed poll raises nothing", 2, 0, []step{
			{obs(0), wire.StateOK},
			{obs(10, wire.FaultNoResponse), ""},
			{obs(20), ""},
			{obs(30, wire.FaultNoResponse), ""},
			{obs(40), ""},
		}},
		{"two agreeing failures change the state", 2, 0, []step{
			{obs(0), wire.StateOK},
			{obs(10, wire.FaultPaperOut), ""},
			{obs(20, wire.FaultPaperOut), wire.StateFault},
			{obs(30, wire.FaultPaperOut), ""},
		}},
		{"a device that recovers needs agreeing readings too", 2, 0, []step{
			{obs(0), wire.StateOK},
			{obs(10, wire.FaultCoverOpen), ""},
			{obs(20, wire.FaultCoverOpen), wire.StateFault},
			{obs(30), ""},
			{obs(40), wire.StateOK},
		}},
		{"a different fault set is a change even in the same state", 2, 0, []step{
			{obs(0, wire.FaultPaperOut), ""},
			{obs(10, wire.FaultPaperOut), wire.StateFault},
			{obs(20, wire.FaultPaperOut, wire.FaultCoverOpen), ""},
			{obs(30, wire.FaultCoverOpen, wire.FaultPaperOut), wire.StateFault},
		}},
		{"disagreeing readings restart the count", 3, 0, []step{
			{obs(0), wire.StateOK},
			{obs(10, wire.FaultPaperLow), ""},
			{obs(20, wire.FaultPaperLow), ""},
			{obs(30, wire.FaultPaperOut), ""},
			{obs(40, wire.FaultPaperLow), ""},
			{obs(50, wire.FaultPaperLow), ""},
			{obs(60, wire.FaultPaperLow), wire.StateDegraded},
		}},
		{"faults during the grace period are not reported", 1, 60 * time.Second, []step{
			{obs(0, wire.FaultUnreachable), ""},
			{obs(30, wire.FaultUnreachable), ""},
			{obs(59, wire.FaultUnreachable), ""},
			{obs(60, wire.FaultUnreachable), wire.StateUnreachable},
		}},
		{"a device that comes up during grace is reported healthy", 2, 60 * time.Second, []step{
			{obs(0, wire.FaultUnreachable), ""},
			{obs(10, wire.FaultUnreachable), ""},
			{obs(20), wire.StateOK},
			{obs(70), ""},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tr := newTracker(c.debounce, t0.Add(c.grace))
			for i, s := range c.steps {
				ch := tr.observe(s.o)
				got := wire.HealthState("")
				if ch != nil {
					got = ch.state
				}
				if got != s.want {
					t.Fatalf("reading %d (%v): change = %q, want %q", i, faultCodes(s.o.faults), got, s.want)
				}
			}
		})
	}
}

func TestChangeCarriesWhenItStarted(t *testing.T) {
	tr := newTracker(3, t0)
	tr.observe(obs(0))
	tr.observe(obs(10, wire.FaultPaperOut))
	tr.observe(obs(20, wire.FaultPaperOut))
	ch := tr.observe(obs(30, wire.FaultPaperOut))
	if ch == nil || !ch.since.Equal(t0.Add(10*time.Second)) || ch.previous != wire.StateOK {
		t.Fatalf("change = %+v, want since the first failing reading at +10s, previous ok", ch)
	}
}
