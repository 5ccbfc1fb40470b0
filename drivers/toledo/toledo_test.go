package toledo_test

import (
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
	emu "github.com/storewatch/storewatch/devsim/toledo"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale/scaletest"
	"github.com/storewatch/storewatch/drivers/toledo"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// The driver against the exact bytes of testdata/transcripts.txt.
func TestTranscripts(t *testing.T) {
	scaletest.Run(t, "toledo", "testdata/*.txt")
}

var fast = map[string]string{"unstable_probes": "2", "unstable_after": "0s"}

// Every fault the emulator can show comes out of the driver as the right
// code, over a real PTY on the default 7E1 line with the parity bit in
// bit 7, and on a 7O1 line in pounds.
func TestEmulatedFaults(t *testing.T) {
	variants := []struct {
		name   string
		cfg    emu.Config
		suffix string
		opts   map[string]string
	}{
		{"7E1 kg", emu.Config{Load: 1.25}, "", fast},
		{"7O1 lb", emu.Config{Load: 1.25, Parity: scalesim.Odd, Unit: "lb"}, "?parity=O", map[string]string{"unit": "lb", "unstable_probes": "2", "unstable_after": "0s"}},
		{"8N1 g", emu.Config{Load: 1.25, Parity: scalesim.None, Unit: "g"}, "?databits=8&parity=N", map[string]string{"unit": "g", "unstable_probes": "2", "unstable_after": "0s"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dev := emu.New(v.cfg)
			d := scaletest.Attach(t, "toledo", dev, v.suffix, v.opts, 5*time.Second)
			r, err := d.Probe(context.Background())
			if err != nil || len(r.Faults) != 0 {
				t.Fatalf("healthy: %+v, %v", r, err)
			}
			if got := r.Measurements["weight_kg"]; got < 1.245 || got > 1.255 {
				t.Errorf("weight_kg %v, want 1.25 within the display's resolution", got)
			}
			scaletest.Faults(t, d, dev.Switchboard(), []scaletest.FaultCase{
				{Switch: scalesim.Overload, Want: wire.FaultScaleOverload},
				{Switch: scalesim.UnderZero, Want: wire.FaultScaleUnderZero},
				{Switch: scalesim.Unstable, Want: wire.FaultScaleUnstable, Probes: 2},
				{Switch: scalesim.ZeroError, Want: wire.FaultScaleZeroError},
			})
		})
	}
}

func TestUnstableOnlyWhenPersistent(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1})
	dev.Switchboard().Set(scalesim.Unstable, true)
	d := scaletest.Attach(t, "toledo", dev, "", map[string]string{"unstable_probes": "2", "unstable_after": "30s"}, 5*time.Second)
	clk := clock.NewFake(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	d.(*toledo.Driver).SetClock(clk.Now)
	for i, want := range []bool{false, false, true} { // 0 s, 10 s, 40 s
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if got := len(r.Faults) == 1 && r.Faults[0].Code == wire.FaultScaleUnstable; got != want {
			t.Fatalf("probe %d: faults %+v, want unstable=%v", i+1, r.Faults, want)
		}
		clk.Advance([]time.Duration{10 * time.Second, 30 * time.Second, 0}[i])
	}
}

func TestZero(t *testing.T) {
	dev := emu.New(emu.Config{Load: 0.1})
	d := scaletest.Attach(t, "toledo", dev, "", nil, 5*time.Second)
	z := d.(scaletest.Zeroer)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 0 {
		t.Fatalf("Zero: %+v, %v", r, err)
	}
	if r, _ := d.Probe(context.Background()); r.Measurements["weight_kg"] != 0 {
		t.Errorf("after Zero: %v kg", r.Measurements["weight_kg"])
	}
	dev.Switchboard().Set(scalesim.ZeroError, true)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultScaleZeroError {
		t.Errorf("Zero with a zero error: %+v, %v", r, err)
	}
}

func TestMisbehaviour(t *testing.T) {
	scaletest.Misbehaviour(t, "toledo", func() devsim.Switchable { return emu.New(emu.Config{}) }, "", nil)
}

func TestRejectsBadUnit(t *testing.T) {
	a, err := transport.Parse("serial:///dev/ttyS0")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := drivers.New("toledo", drivers.Spec{Address: a, Options: drivers.NewOptions(map[string]string{"unit": "stone"})}); err == nil {
		t.Error("unit=stone accepted")
	}
}
