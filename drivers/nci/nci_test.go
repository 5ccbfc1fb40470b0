package nci_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	emu "github.com/storewatch/storewatch/devsim/nci"
	"github.com/storewatch/storewatch/devsim/scalesim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/internal/testkit/scaletest"
	"github.com/storewatch/storewatch/wire"
)

const lb = 0.45359237

// The driver against the exact bytes of testdata/transcripts.txt.
func TestTranscripts(t *testing.T) {
	scaletest.Run(t, "nci", "testdata/*.txt")
}

// Every fault the emulator can show comes out of the driver as the right
// code, over a real PTY on the default 7E1 line, where the emulator sends
// the parity bit in bit 7 and the driver must check and clear it.
func TestEmulatedFaults(t *testing.T) {
	dev := emu.New(emu.Config{StatusBytes: 3, Load: 1.25 * lb})
	d := scaletest.Attach(t, "nci", dev, "", scaletest.FastMotion, 5*time.Second)
	scaletest.Faults(t, d, dev.Switchboard(), scaletest.CommonFaults(
		scaletest.FaultCase{Switch: scalesim.ZeroError, Want: wire.FaultScaleZeroError},
		scaletest.FaultCase{Switch: scalesim.Calibration, Want: wire.FaultScaleCalibration},
		scaletest.FaultCase{Switch: emu.RAMError, Want: wire.FaultScaleCalibration},
		scaletest.FaultCase{Switch: emu.EEPROMError, Want: wire.FaultScaleCalibration},
		scaletest.FaultCase{Switch: emu.ROMError, Want: wire.FaultScaleCalibration},
	))
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
		// Scales that put the parity bit into the status bytes only (B2 30
		// for 32 30), the rest plain ASCII: read as 7E1 and as 8N1.
		{"parity in the status bytes only, 7E1", emu.Config{Parity: scalesim.None, StatusParity: scalesim.Even}, ""},
		{"parity in the status bytes only, read as 8N1", emu.Config{Parity: scalesim.None, StatusParity: scalesim.Even}, "?databits=8&parity=N"},
		{"odd parity in the status bytes only, 7O1", emu.Config{Parity: scalesim.None, StatusParity: scalesim.Odd, StatusBytes: 3}, "?parity=O"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			v.cfg.Load = 2.5
			dev := emu.New(v.cfg)
			d := scaletest.Attach(t, "nci", dev, v.suffix, scaletest.FastMotion, 5*time.Second)
			scaletest.Healthy(t, d, 2.5)
			scaletest.Faults(t, d, dev.Switchboard(), scaletest.CommonFaults(
				scaletest.FaultCase{Switch: scalesim.Calibration, Want: wire.FaultScaleCalibration},
			))
		})
	}
}

// One reading in motion is normal weighing; only a weight that keeps moving
// for the configured probes and time becomes scale_unstable.
func TestUnstableOnlyWhenPersistent(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1})
	d := scaletest.Attach(t, "nci", dev, "", scaletest.PersistenceOptions, 5*time.Second)
	scaletest.Persistence(t, d, dev.Switchboard(), scalesim.Unstable)
}

func TestZero(t *testing.T) {
	dev := emu.New(emu.Config{Load: 0.1, StatusBytes: 3})
	d := scaletest.Attach(t, "nci", dev, "", nil, 5*time.Second)
	scaletest.ZeroCommand(t, d, dev.Switchboard(), scalesim.ZeroError)
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

// Status bytes carrying odd parity on a line set to 7E1 are a parity error
// (a protocol problem), not a status and not a silent scale.
func TestWrongParityInTheStatusBytes(t *testing.T) {
	dev := emu.New(emu.Config{Parity: scalesim.None, StatusParity: scalesim.Odd})
	d := scaletest.Attach(t, "nci", dev, "", nil, 5*time.Second)
	_, err := d.Probe(context.Background())
	if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), "parity error") {
		t.Fatalf("probe: %v, want a parity error", err)
	}
	if f := drivers.FaultFor(err); f.Code != wire.FaultNoResponse || !strings.Contains(f.Detail, "parity") {
		t.Errorf("fault %+v, want no_response naming the parity", f)
	}
}

// A serial-to-TCP converter that passes the parity bit on: the line's parity
// is unknown to the driver, which then requires bytes consistently even or
// odd, and reads them.
func TestOverTCPWithParityBits(t *testing.T) {
	for _, p := range []scalesim.Parity{scalesim.Even, scalesim.Odd} {
		srv, err := devsim.ServeTCP(context.Background(), emu.New(emu.Config{Load: 2.5, Parity: p}), "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		d := scaletest.New(t, "nci", "tcp://"+srv.Addr, nil, 5*time.Second, nil)
		scaletest.Healthy(t, d, 2.5)
	}
}
