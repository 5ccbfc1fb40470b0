package nci_test

import (
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	emu "github.com/storewatch/storewatch/devsim/nci"
	"github.com/storewatch/storewatch/devsim/scalesim"
	"github.com/storewatch/storewatch/drivers/internal/scale/scaletest"
	"github.com/storewatch/storewatch/drivers/nci"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

const lb = 0.45359237

// The driver against the exact bytes of testdata/transcripts.txt.
func TestTranscripts(t *testing.T) {
	scaletest.Run(t, "nci", "testdata/*.txt")
}

var fast = map[string]string{"unstable_probes": "2", "unstable_after": "0s"}

// Every fault the emulator can show comes out of the driver as the right
// code, over a real PTY on the default 7E1 line, where the emulator sends
// the parity bit in bit 7 and the driver must check and clear it.
func TestEmulatedFaults(t *testing.T) {
	dev := emu.New(emu.Config{StatusBytes: 3, Load: 1.25 * lb})
	d := scaletest.Attach(t, "nci", dev, "", fast, 5*time.Second)
	scaletest.Faults(t, d, dev.Switchboard(), []scaletest.FaultCase{
		{Switch: scalesim.Overload, Want: wire.FaultScaleOverload},
		{Switch: scalesim.UnderZero, Want: wire.FaultScaleUnderZero},
		{Switch: scalesim.Unstable, Want: wire.FaultScaleUnstable, Probes: 2},
		{Switch: scalesim.ZeroError, Want: wire.FaultScaleZeroError},
		{Switch: scalesim.Calibration, Want: wire.FaultScaleCalibration},
		{Switch: emu.RAMError, Want: wire.FaultScaleCalibration},
		{Switch: emu.EEPROMError, Want: wire.FaultScaleCalibration},
		{Switch: emu.ROMError, Want: wire.FaultScaleCalibration},
	})
}

// The same over the other framings: two status bytes on 7O1, and the
// SCP-02 variant on 8N1.
func TestEmulatedVariants(t *testing.T) {
	variants := []struct {
		name   string
		cfg    emu.Config
		suffix string
	}{
		{"two status bytes, 7O1", emu.Config{StatusBytes: 2, Parity: scalesim.Odd}, "?parity=O"},
		{"SCP-02, 8N1", emu.Config{SCP02: true, Parity: scalesim.None}, "?databits=8&parity=N"},
		{"pounds and ounces", emu.Config{Unit: "lb-oz"}, ""},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			v.cfg.Load = 2.5
			dev := emu.New(v.cfg)
			d := scaletest.Attach(t, "nci", dev, v.suffix, fast, 5*time.Second)
			r, err := d.Probe(context.Background())
			if err != nil || len(r.Faults) != 0 {
				t.Fatalf("healthy: %+v, %v", r, err)
			}
			if got := r.Measurements["weight_kg"]; got < 2.49 || got > 2.51 {
				t.Errorf("weight_kg %v, want 2.5 within the display's resolution", got)
			}
			scaletest.Faults(t, d, dev.Switchboard(), []scaletest.FaultCase{
				{Switch: scalesim.Overload, Want: wire.FaultScaleOverload},
				{Switch: scalesim.UnderZero, Want: wire.FaultScaleUnderZero},
				{Switch: scalesim.Unstable, Want: wire.FaultScaleUnstable, Probes: 2},
				{Switch: scalesim.Calibration, Want: wire.FaultScaleCalibration},
			})
		})
	}
}

func TestUnstableOnlyWhenPersistent(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1})
	dev.Switchboard().Set(scalesim.Unstable, true)
	d := scaletest.Attach(t, "nci", dev, "", map[string]string{"unstable_probes": "2", "unstable_after": "30s"}, 5*time.Second)
	clk := clock.NewFake(time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC))
	d.(*nci.Driver).SetClock(clk.Now)
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
	dev := emu.New(emu.Config{Load: 0.1, StatusBytes: 3})
	d := scaletest.Attach(t, "nci", dev, "", nil, 5*time.Second)
	z := d.(scaletest.Zeroer)
	r, err := z.Zero(context.Background())
	if err != nil || len(r.Faults) != 0 {
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
	scaletest.Misbehaviour(t, "nci", func() devsim.Switchable { return emu.New(emu.Config{}) }, "", nil)
}

// A scale whose parity differs from the line's setting is refused rather
// than misread.
func TestWrongParityIsAProtocolError(t *testing.T) {
	d := scaletest.Attach(t, "nci", emu.New(emu.Config{Parity: scalesim.Odd}), "?parity=E", nil, 5*time.Second)
	if _, err := d.Probe(context.Background()); err == nil {
		t.Fatal("a 7O1 scale read without error on a line set to 7E1")
	}
}
