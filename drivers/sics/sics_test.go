package sics_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
	emu "github.com/storewatch/storewatch/devsim/sics"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/scaletest"
	"github.com/storewatch/storewatch/wire"
)

// The driver against the exact bytes of testdata/transcripts.txt.
func TestTranscripts(t *testing.T) {
	scaletest.Run(t, "sics", "testdata/*.txt")
}

// Every fault the emulator can show comes out of the driver as the right
// code, over a real PTY.
func TestEmulatedFaults(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1.25})
	d := scaletest.Attach(t, "sics", dev, "", scaletest.FastMotion, 5*time.Second)
	scaletest.Faults(t, d, dev.Switchboard(), []scaletest.FaultCase{
		{Switch: scalesim.Overload, Want: wire.FaultScaleOverload},
		{Switch: scalesim.UnderZero, Want: wire.FaultScaleUnderZero},
		{Switch: scalesim.Unstable, Want: wire.FaultScaleUnstable, Probes: 2},
		{Switch: scalesim.ZeroError, Want: wire.FaultScaleZeroError, Zero: true},
	})
}

// A busy scale (every command answered with status I) is busy: each probe
// returns drivers.ErrBusy, so the collector skips the poll; it never becomes
// scale_unstable, and the identity read before it stays, with no
// unknown_device and no fresh identity read once the scale is free again.
func TestBusyIsBusy(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1.25})
	want := &wire.Identity{Serial: "B525073136", Model: "ICS425s"}
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d := scaletest.New(t, "sics", "serial://"+p.Path, scaletest.FastMotion, 5*time.Second, want)
	if r, err := d.Probe(context.Background()); err != nil || len(r.Faults) != 0 {
		t.Fatalf("before busy: %+v, %v", r, err)
	}
	dev.Switchboard().Set(emu.Busy, true)
	for i := range 4 { // twice the unstable_probes of FastMotion
		r, err := d.Probe(context.Background())
		if !errors.Is(err, drivers.ErrBusy) || len(r.Faults) != 0 || r.Identity != nil {
			t.Fatalf("busy probe %d: %+v, %v; want drivers.ErrBusy and no reading", i+1, r, err)
		}
	}
	dev.Switchboard().Set(emu.Busy, false)
	r, err := d.Probe(context.Background())
	if err != nil || len(r.Faults) != 0 {
		t.Fatalf("after busy: %+v, %v", r.Faults, err)
	}
	if r.Identity == nil || r.Identity.Serial != want.Serial || r.Identity.Model != want.Model || r.Identity.Firmware == "" {
		t.Errorf("identity after busy: %+v, want the one read before", r.Identity)
	}
}

// A scale busy at first contact: the poll is skipped, nothing half-read is
// kept, and the first probe after it reads the whole identity.
func TestBusyAtFirstContact(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1.25})
	dev.Switchboard().Set(emu.Busy, true)
	d := scaletest.Attach(t, "sics", dev, "", nil, 5*time.Second)
	if _, err := d.Probe(context.Background()); !errors.Is(err, drivers.ErrBusy) {
		t.Fatalf("busy at first contact: %v, want drivers.ErrBusy", err)
	}
	dev.Switchboard().Set(emu.Busy, false)
	r, err := d.Probe(context.Background())
	if err != nil || r.Identity == nil || r.Identity.Serial != "B525073136" || r.Identity.Model != "ICS425s" {
		t.Fatalf("after busy: %+v, %v", r, err)
	}
}

func TestHealthyReadingAndIdentity(t *testing.T) {
	d := scaletest.Attach(t, "sics", emu.New(emu.Config{Load: 1.25}), "", nil, 5*time.Second)
	r, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Faults) != 0 || r.Measurements["weight_kg"] != 1.25 || r.Measurements["weight_stable"] != 1 {
		t.Errorf("reading %+v", r)
	}
	want := wire.Identity{Vendor: "Mettler Toledo", Model: "ICS425s", Serial: "B525073136", Firmware: "4.10.1.2"}
	if id := r.Identity; id == nil || id.Vendor != want.Vendor || id.Model != want.Model || id.Serial != want.Serial || id.Firmware != want.Firmware {
		t.Errorf("identity %+v, want %+v", r.Identity, want)
	} else if id.Extra["capacity"] != "6.2 kg" || id.Extra["mt_sics_levels"] != "01" || id.Extra["commands"] == "" {
		t.Errorf("identity extra %v", id.Extra)
	}
	id, err := d.(drivers.Identifier).Identify(context.Background())
	if err != nil || id.Serial != want.Serial {
		t.Errorf("Identify = %+v, %v", id, err)
	}
}

// One reading in motion is normal weighing; only a weight that keeps moving
// for the configured probes and time becomes scale_unstable.
func TestUnstableOnlyWhenPersistent(t *testing.T) {
	dev := emu.New(emu.Config{Load: 1.25})
	d := scaletest.Attach(t, "sics", dev, "", scaletest.PersistenceOptions, 5*time.Second)
	scaletest.Persistence(t, d, dev.Switchboard(), scalesim.Unstable)
}

// A swapped scale (another serial number at I4) is read whole again and
// does not match the inventory: unknown_device. The serial number is
// checked every identify_every probes, so the swap shows at the first check
// after it.
func TestWrongIdentity(t *testing.T) {
	for _, tc := range []struct {
		every   string
		unknown []bool // after the swap, probe by probe: unknown_device?
	}{
		{"1", []bool{true}},
		{"3", []bool{false, true}}, // the first probe and one more went by since the check
	} {
		t.Run("identify_every="+tc.every, func(t *testing.T) {
			dev := emu.New(emu.Config{})
			p, err := devsim.ServePTY(context.Background(), dev)
			if err != nil {
				t.Fatal(err)
			}
			defer p.Close()
			d := scaletest.New(t, "sics", "serial://"+p.Path, map[string]string{"identify_every": tc.every}, 5*time.Second,
				&wire.Identity{Serial: "B525073136", Model: "ICS425s"})
			for range 2 {
				if r, err := d.Probe(context.Background()); err != nil || len(r.Faults) != 0 {
					t.Fatalf("expected scale: %+v, %v", r.Faults, err)
				}
			}
			dev.Switchboard().Set(emu.WrongIdentity, true)
			for i, want := range tc.unknown {
				r, err := d.Probe(context.Background())
				if err != nil {
					t.Fatal(err)
				}
				if !want {
					if len(r.Faults) != 0 {
						t.Errorf("probe %d after the swap, before the check: faults %+v", i+1, r.Faults)
					}
					continue
				}
				if r.Identity == nil || r.Identity.Serial != "C118004527" || r.Identity.Model != "ICS689" {
					t.Errorf("swapped scale read as %+v; the serial change must trigger a new identity read", r.Identity)
				}
				if len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultUnknownDevice {
					t.Errorf("faults %+v, want unknown_device", r.Faults)
				}
			}
		})
	}
}

// A scale that answers each command in 500 ms is healthy under a 2 s
// timeout: the first probe asks I0, I1, I2, I3, I4 and SI, six exchanges
// and three seconds together, each well within its timeout.
func TestSlowScale(t *testing.T) {
	t.Parallel()
	dev := emu.New(emu.Config{Load: 1.25})
	d := scaletest.Attach(t, "sics", dev, "", nil, drivertest.SlowTimeout)
	r := drivertest.RunSlowPerRequest(t, d, dev.Switchboard())
	if len(r.Faults) != 0 || r.Identity == nil || r.Identity.Serial != "B525073136" || r.Measurements["weight_kg"] != 1.25 {
		t.Errorf("slow scale: %+v", r)
	}
}

func TestMisbehaviour(t *testing.T) {
	scaletest.Misbehaviour(t, "sics", func() devsim.Switchable { return emu.New(emu.Config{}) }, "", nil)
}

// A scale set to 7E1 sends the parity bit in bit 7 over the PTY; the driver
// told the line is 7E1 checks and strips it, and told 7O1 it refuses it.
func TestSevenBitLine(t *testing.T) {
	dev := emu.New(emu.Config{Parity: scalesim.Even, Load: 2})
	d := scaletest.Attach(t, "sics", dev, "?databits=7&parity=E", nil, 5*time.Second)
	r, err := d.Probe(context.Background())
	if err != nil || r.Measurements["weight_kg"] != 2 || r.Identity.Serial != "B525073136" {
		t.Fatalf("7E1: %+v, %v", r, err)
	}
	odd := scaletest.Attach(t, "sics", emu.New(emu.Config{Parity: scalesim.Even}), "?databits=7&parity=O", nil, 5*time.Second)
	if _, err := odd.Probe(context.Background()); err == nil {
		t.Fatal("even parity bits accepted on a line set to odd")
	}
}

// A scale left streaming (SIR) keeps sending weights; the driver flushes
// them and passes over the ones that arrive between its questions.
func TestStreamingScale(t *testing.T) {
	dev := emu.New(emu.Config{Load: 0.5})
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	d := scaletest.New(t, "sics", "serial://"+p.Path, nil, 5*time.Second, nil)
	startStream(t, p.Path)
	for range 3 {
		r, err := d.Probe(context.Background())
		if err != nil || r.Measurements["weight_kg"] != 0.5 || r.Identity.Serial == "" {
			t.Fatalf("probe of a streaming scale: %+v, %v", r, err)
		}
	}
}

func TestZero(t *testing.T) {
	dev := emu.New(emu.Config{Load: 0.2})
	d := scaletest.Attach(t, "sics", dev, "", nil, 5*time.Second)
	z := d.(scaletest.Zeroer)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 0 {
		t.Fatalf("Zero: %+v, %v", r, err)
	}
	if r, _ := d.Probe(context.Background()); r.Measurements["weight_kg"] != 0 {
		t.Errorf("after Zero the scale shows %v kg", r.Measurements["weight_kg"])
	}
	dev.Switchboard().Set(scalesim.Unstable, true)
	if r, err := z.Zero(context.Background()); err != nil || len(r.Faults) != 0 || r.Detail == "" {
		t.Errorf("Zero while moving: %+v, %v (not executed, but no fault)", r, err)
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for _, c := range []struct{ addr, opt string }{
		{"tcp://10.0.0.5", ""},                     // no port
		{"serial:///dev/ttyS0", "unit"},            // unknown option
		{"serial:///dev/ttyS0", "unstable_probes"}, // 0 below
	} {
		opts := map[string]string{}
		if c.opt != "" {
			opts[c.opt] = "0"
		}
		a, err := transport.Parse(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drivers.New("sics", drivers.Spec{Address: a, Options: drivers.NewOptions(opts)}); err == nil {
			t.Errorf("%s with %v accepted", c.addr, opts)
		}
	}
}

// startStream plays another program that sent SIR and went away, leaving the
// scale streaming weights.
func startStream(t *testing.T, path string) {
	t.Helper()
	a, err := transport.Parse("serial://" + path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("SIR\r\n")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if l, err := transport.ReadUntil(c, []byte("\r\n"), 64); err != nil || string(l[:2]) != "S " {
			t.Fatalf("stream: %q, %v", l, err)
		}
	}
}

// Behind a serial-to-TCP converter the same conversation runs over TCP.
func TestOverTCP(t *testing.T) {
	srv, err := devsim.ServeTCP(context.Background(), emu.New(emu.Config{Load: 3}), "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	d := scaletest.New(t, "sics", "tcp://"+srv.Addr, nil, 5*time.Second, nil)
	r, err := d.Probe(context.Background())
	if err != nil || r.Measurements["weight_kg"] != 3 || r.Identity.Serial != "B525073136" {
		t.Fatalf("over TCP: %+v, %v", r, err)
	}
}
