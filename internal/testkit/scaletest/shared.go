package scaletest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// PersistenceOptions are the motion options Persistence expects the driver
// to be configured with.
var PersistenceOptions = map[string]string{"unstable_probes": "3", "unstable_after": "1m"}

// Clocked is implemented by the scale drivers so tests can move the clock
// the unstable timer reads.
type Clocked interface {
	SetClock(now func() time.Time)
}

// Persistence checks, with the emulator's motion fault switched on, that a
// moving weight becomes scale_unstable only once it has moved for three
// probes and a minute (PersistenceOptions), on a fake clock, and that a
// settled weight clears it.
func Persistence(t *testing.T, d drivers.Prober, sb *devsim.Faults, motion string) {
	t.Helper()
	clk := clock.NewFake(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	d.(Clocked).SetClock(clk.Now)
	if err := sb.Set(motion, true); err != nil {
		t.Fatal(err)
	}
	steps := []struct {
		advance time.Duration
		faulty  bool
	}{
		{0, false},                // one moving reading: normal weighing
		{20 * time.Second, false}, // two probes
		{20 * time.Second, false}, // three probes, but only 40 s
		{20 * time.Second, true},  // four probes over 60 s: persistent
		{20 * time.Second, true},
	}
	for i, s := range steps {
		clk.Advance(s.advance)
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Faults) == 1 && r.Faults[0].Code == wire.FaultScaleUnstable; got != s.faulty {
			t.Fatalf("probe %d: faults %+v, want unstable=%v (%s)", i+1, r.Faults, s.faulty, r.Detail)
		}
		if r.Measurements["weight_stable"] != 0 || r.Measurements["motion_probes"] != float64(i+1) {
			t.Errorf("probe %d: measurements %v, want weight_stable 0 and motion_probes %d", i+1, r.Measurements, i+1)
		}
	}
	sb.Set(motion, false)
	if r, err := d.Probe(context.Background()); err != nil || len(r.Faults) != 0 {
		t.Errorf("settled: %+v, %v", r.Faults, err)
	}
}

// FuzzSevenBit fuzzes a 7-bit protocol's whole path from the bytes on the
// line to a status: strip (the driver's parity check, scale.StripParity
// with the protocol's carriers), then parse. Seeds are the answers of the
// transcript file, on even and unknown parity. Whatever the bytes, the
// result is a status or a protocol error, never a panic; check tests what an
// accepted status must satisfy.
func FuzzSevenBit[Status any](f *testing.F, transcripts string, strip func(raw []byte, parity string) ([]byte, error), parse func([]byte) (Status, error), check func(t *testing.T, frame []byte, st Status)) {
	for _, r := range transcript.Responses(transcript.Load(f, transcripts)) {
		f.Add(r, "E")
		f.Add(r, "N")
	}
	f.Fuzz(func(t *testing.T, raw []byte, parity string) {
		frame, err := strip(raw, parity)
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("% X: %v is not a protocol error", raw, err)
			}
			return
		}
		st, err := parse(frame)
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("%q: %v is not a protocol error", frame, err)
			}
			return
		}
		check(t, frame, st)
	})
}

// CommonFaults are the cases every scale emulator and driver share:
// overload, under zero and persistent motion (the driver configured with
// unstable_probes=2, unstable_after=0s), followed by more.
func CommonFaults(more ...FaultCase) []FaultCase {
	return append([]FaultCase{
		{Switch: "scale_overload", Want: wire.FaultScaleOverload},
		{Switch: "scale_under_zero", Want: wire.FaultScaleUnderZero},
		{Switch: "scale_unstable", Want: wire.FaultScaleUnstable, Probes: 2},
	}, more...)
}

// FastMotion are driver options that make two moving probes persistent.
var FastMotion = map[string]string{"unstable_probes": "2", "unstable_after": "0s"}

// ZeroCommand checks a driver's explicit zero on a scale carrying a load:
// it zeroes (the next probe shows 0 kg) and, with the emulator's zero-error
// fault zeroError on, the answer gives scale_zero_error.
func ZeroCommand(t *testing.T, d drivers.Prober, sb *devsim.Faults, zeroError string) {
	t.Helper()
	z := d.(Zeroer)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 0 {
		t.Fatalf("Zero: %+v, %v", r, err)
	}
	if r, err := d.Probe(context.Background()); err != nil || r.Measurements["weight_kg"] != 0 {
		t.Errorf("after Zero: %v kg, %v", r.Measurements["weight_kg"], err)
	}
	if err := sb.Set(zeroError, true); err != nil {
		t.Fatal(err)
	}
	defer sb.Set(zeroError, false)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultScaleZeroError {
		t.Errorf("Zero with a zero error: %+v, %v", r, err)
	}
}
