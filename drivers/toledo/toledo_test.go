package toledo_test

import (
	"cmp"
	"maps"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
	emu "github.com/storewatch/storewatch/devsim/toledo"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/scaletest"
	"github.com/storewatch/storewatch/wire"
)

// The driver against the exact bytes of testdata/transcripts.txt.
func TestTranscripts(t *testing.T) {
	scaletest.Run(t, "toledo", "testdata/*.txt")
}

// Every fault the emulator can show comes out of the driver as the right
// code, over a real PTY on the default 7E1 line with the parity bit in
// bit 7, and on a 7O1 line in pounds.
func TestEmulatedFaults(t *testing.T) {
	variants := []struct {
		name   string
		cfg    emu.Config
		suffix string
	}{
		{"7E1 kg", emu.Config{Load: 1.25}, ""},
		{"7O1 lb", emu.Config{Load: 1.25, Parity: scalesim.Odd, Unit: "lb"}, "?parity=O"},
		{"8N1 g", emu.Config{Load: 1.25, Parity: scalesim.None, Unit: "g"}, "?databits=8&parity=N"},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			dev := emu.New(v.cfg)
			opts := map[string]string{"unit": cmp.Or(v.cfg.Unit, "kg")}
			maps.Copy(opts, scaletest.FastMotion)
			d := scaletest.Attach(t, "toledo", dev, v.suffix, opts, 5*time.Second)
			scaletest.Healthy(t, d, 1.25)
			scaletest.Faults(t, d, dev.Switchboard(), scaletest.CommonFaults(
				scaletest.FaultCase{Switch: scalesim.ZeroError, Want: wire.FaultScaleZeroError},
			))
		})
	}
}

// One reading in motion is normal weighing; only a weight that keeps moving
// for the configured probes and time becomes scale_unstable.
func TestUnstableOnlyWhenPersistent(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1})
	d := scaletest.Attach(t, "toledo", dev, "", scaletest.PersistenceOptions, 5*time.Second)
	scaletest.Persistence(t, d, dev.Switchboard(), scalesim.Unstable)
}

func TestZero(t *testing.T) {
	dev := emu.New(emu.Config{Load: 0.1})
	d := scaletest.Attach(t, "toledo", dev, "", nil, 5*time.Second)
	scaletest.ZeroCommand(t, d, dev.Switchboard(), scalesim.ZeroError)
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
