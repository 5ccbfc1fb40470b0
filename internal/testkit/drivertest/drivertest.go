package drivertest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// FaultCase is one row of a driver's fault table: the emulator faults to
// switch on, the fault codes the driver must report (sorted, comma
// separated, "none") and the health state they amount to.
type FaultCase struct {
	Faults []string
	Want   string
	State  wire.HealthState
}

// RunFaults switches each case's faults on (set switches exactly the given
// ones), probes, and checks codes, severities and state. The first probe
// must also bring the identity described by firstIdentity (see
// transcript.CheckIdentity). simtest.Switch makes a set function of an
// emulator's switchboard.
func RunFaults(t *testing.T, d drivers.Prober, set func(faults ...string), cases []FaultCase, firstIdentity string) {
	t.Helper()
	for i, c := range cases {
		set(c.Faults...)
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatalf("%v: %v", c.Faults, err)
		}
		label := fmt.Sprint(c.Faults)
		transcript.CheckFaults(t, label, c.Want, r.Faults)
		if s := wire.StateOf(r.Faults); s != c.State {
			t.Errorf("%s: state %s, want %s", label, s, c.State)
		}
		if i == 0 {
			transcript.CheckIdentity(t, label, firstIdentity, r.Identity)
		}
	}
}

// RunMisbehaviour checks what a driver makes of the common transport
// misbehaviours, switched on the emulator one after the other: garbage is a
// protocol error, silence a timeout, a slightly slow device is fine, and
// one slower than the timeout gives no answer. All of them must come back
// as no_response from FaultFor, never as a panic or a hang. timeout is the
// driver's probe timeout.
func RunMisbehaviour(t *testing.T, d drivers.Prober, sb *devsim.Faults, timeout time.Duration) {
	t.Helper()
	probe := func(what string, faults ...string) error {
		simtest.Switch(t, sb)(faults...)
		_, err := d.Probe(context.Background())
		if err != nil && drivers.FaultFor(err).Code != wire.FaultNoResponse {
			t.Errorf("%s: %v gives %s, want no_response", what, err, drivers.FaultFor(err).Code)
		}
		return err
	}
	if err := probe("garbage", devsim.FaultGarbage); !errors.Is(err, drivers.ErrProtocol) {
		t.Errorf("garbage: err = %v, want a protocol error", err)
	}
	if err := probe("silent", devsim.FaultSilent); !errors.Is(err, os.ErrDeadlineExceeded) && !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("silent: err = %v, want a timeout", err)
	}
	sb.SetDelay(5 * time.Millisecond)
	if err := probe("slightly slow", devsim.FaultSlow); err != nil {
		t.Errorf("slightly slow: %v", err)
	}
	sb.SetDelay(timeout + time.Second)
	if err := probe("slower than the timeout", devsim.FaultSlow); err == nil {
		t.Error("slower than the timeout: the probe succeeded")
	}
	sb.Clear()
}

// SlowDelay and SlowTimeout are issue 17's slow device: it answers each
// request after 500 ms, under a 2 s timeout. A probe of four or more
// exchanges takes longer than the timeout altogether, yet every answer
// comes in time, so the device is healthy.
const (
	SlowDelay   = 500 * time.Millisecond
	SlowTimeout = 2 * time.Second
)

// RunSlowPerRequest switches the emulator's "slow" fault on with SlowDelay
// and probes once through d, which must have been built with SlowTimeout:
// the probe must succeed. It also checks the premise, that the probe took
// longer than the timeout altogether (a lower bound the emulator's delays
// guarantee, not a measure of speed), so that a driver bounding the whole
// probe by the timeout would have failed here. It returns the reading.
func RunSlowPerRequest(t *testing.T, d drivers.Prober, sb *devsim.Faults) drivers.Reading {
	t.Helper()
	sb.Clear()
	sb.SetDelay(SlowDelay)
	if err := sb.Set(devsim.FaultSlow, true); err != nil {
		t.Fatal(err)
	}
	defer sb.Clear()
	start := time.Now()
	r, err := d.Probe(context.Background())
	took := time.Since(start)
	if err != nil {
		t.Fatalf("a device answering each request in %v, under a %v timeout: %v (%s)", SlowDelay, SlowTimeout, err, drivers.FaultFor(err).Code)
	}
	if took < SlowTimeout {
		t.Fatalf("the probe took %v, less than the %v timeout: it made too few slow exchanges to show anything", took, SlowTimeout)
	}
	return r
}
