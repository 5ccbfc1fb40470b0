package collector

import (
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// observation is one probe's outcome after mapping errors to faults.
type observation struct {
	at           time.Time
	faults       []wire.Fault
	detail       string
	identity     *wire.Identity
	measurements map[string]float64
}

func (o observation) state() wire.HealthState { return wire.StateOf(o.faults) }

// signature identifies a health condition: the state and the set of fault
// codes. Two readings agree when their signatures are equal, whatever their
// details say.
func signature(faults []wire.Fault) string {
	codes := make([]string, len(faults))
	for i, f := range faults {
		codes[i] = string(f.Code)
	}
	return string(wire.StateOf(faults)) + ":" + strings.Join(codes, ",")
}

// tracker is one device's debounce state machine. It is pure (no clock, no
// I/O) so its rules can be tested reading by reading.
type tracker struct {
	debounce   int       // agreeing readings needed to change state
	graceUntil time.Time // before this, only a healthy reading is reported

	confirmed    wire.HealthState
	confirmedSig string
	faults       []wire.Fault

	candSig   string
	candCount int
	candSince time.Time
}

func newTracker(debounce int, graceUntil time.Time) *tracker {
	if debounce < 1 {
		debounce = 1
	}
	return &tracker{debounce: debounce, graceUntil: graceUntil, confirmed: wire.StateUnknown}
}

// change is a confirmed state change.
type change struct {
	previous wire.HealthState
	state    wire.HealthState
	since    time.Time
	obs      observation
}

// observe feeds one reading and returns the change it confirms, if any.
//
// Rules:
//   - a reading that agrees with the confirmed condition resets any candidate;
//   - a different condition must be seen debounce times in a row;
//   - the very first healthy reading of a device is confirmed at once (there
//     is nothing to debounce against, and the hub wants to know it is there);
//   - during the start-up grace period only healthy conditions are confirmed,
//     so devices that come up one by one are not reported; a fault still
//     present after the grace period is confirmed at the next reading.
func (t *tracker) observe(o observation) *change {
	wire.SortFaults(o.faults)
	sig := signature(o.faults)
	if sig == t.confirmedSig {
		t.candSig, t.candCount = "", 0
		t.faults = o.faults // keep the details current
		return nil
	}
	if sig == t.candSig {
		t.candCount++
	} else {
		t.candSig, t.candCount, t.candSince = sig, 1, o.at
	}
	state := o.state()
	needed := t.debounce
	if t.confirmed == wire.StateUnknown && state == wire.StateOK {
		needed = 1
	}
	if t.candCount < needed {
		return nil
	}
	if state != wire.StateOK && o.at.Before(t.graceUntil) {
		return nil
	}
	c := &change{previous: t.confirmed, state: state, since: t.candSince, obs: o}
	t.confirmed, t.confirmedSig, t.faults = state, sig, o.faults
	t.candSig, t.candCount = "", 0
	return c
}
