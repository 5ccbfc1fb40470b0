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
	// busy: another program has the device; holder says who, if known.
	busy   bool
	holder *wire.Holder
}

// state is the reading's health: busy when the device was in use and no
// fault (busy_too_long) was made of it.
func (o observation) state() wire.HealthState {
	if o.busy && len(o.faults) == 0 {
		return wire.StateBusy
	}
	return wire.StateOf(o.faults)
}

// signature identifies a health condition: the state and the set of fault
// codes. Two readings agree when their signatures are equal, whatever their
// details say.
func signature(o observation) string {
	codes := make([]string, len(o.faults))
	for i, f := range o.faults {
		codes[i] = string(f.Code)
	}
	return string(o.state()) + ":" + strings.Join(codes, ",")
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
//   - the very first healthy (or busy) reading of a device is confirmed at
//     once (there is nothing to debounce against, and the hub wants to know
//     it is there);
//   - during the start-up grace period only healthy conditions are confirmed,
//     so devices that come up one by one are not reported; a fault still
//     present after the grace period is confirmed at the next reading.
func (t *tracker) observe(o observation) *change {
	wire.SortFaults(o.faults)
	sig := signature(o)
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
	// Busy is no fault: like ok it is confirmed at once on a first reading
	// and during the grace period.
	healthy := state == wire.StateOK || state == wire.StateBusy
	if t.confirmed == wire.StateUnknown && healthy {
		needed = 1
	}
	if t.candCount < needed {
		return nil
	}
	if !healthy && o.at.Before(t.graceUntil) {
		return nil
	}
	c := &change{previous: t.confirmed, state: state, since: t.candSince, obs: o}
	t.confirmed, t.confirmedSig, t.faults = state, sig, o.faults
	t.candSig, t.candCount = "", 0
	return c
}
