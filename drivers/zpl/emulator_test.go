package zpl_test

import (
	"context"
	"testing"
	"time"

	simzpl "github.com/storewatch/storewatch/devsim/zpl"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	_ "github.com/storewatch/storewatch/drivers/zpl" // registers "zpl"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

var transports = map[string]func(t *testing.T, p *simzpl.Printer) string{
	"pty": func(t *testing.T, p *simzpl.Printer) string { return "serial://" + simtest.PTY(t, p) },
	"tcp": func(t *testing.T, p *simzpl.Printer) string { return "tcp://" + simtest.TCP(t, p) },
}

func newDriver(t *testing.T, addr string, timeout time.Duration, expected *wire.Identity) drivers.Prober {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drivers.New("zpl", drivers.Spec{ID: "backroom-labels", Kind: "label_printer", Address: a, Timeout: timeout,
		Options: drivers.NewOptions(map[string]string{"hs_timeout": (timeout / 3).String()}), Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFaultsThroughEmulator(t *testing.T) {
	cases := []drivertest.FaultCase{
		{Faults: nil, Want: "none", State: wire.StateOK},
		{Faults: []string{simzpl.PaperOut}, Want: "paper_out", State: wire.StateFault},
		{Faults: []string{simzpl.PaperLow}, Want: "paper_low", State: wire.StateDegraded},
		{Faults: []string{simzpl.CoverOpen}, Want: "cover_open", State: wire.StateFault},
		{Faults: []string{simzpl.RibbonOut}, Want: "ribbon_out", State: wire.StateFault},
		{Faults: []string{simzpl.CutterError}, Want: "cutter_error", State: wire.StateFault},
		{Faults: []string{simzpl.HeadOverheat}, Want: "head_overheat", State: wire.StateFault},
		{Faults: []string{simzpl.MotorOverheat}, Want: "motor_overheat", State: wire.StateFault},
		{Faults: []string{simzpl.HeadOverheat, simzpl.MotorOverheat}, Want: "head_overheat,motor_overheat", State: wire.StateFault},
		{Faults: []string{simzpl.HeadFault}, Want: "head_fault", State: wire.StateFault},
		{Faults: []string{simzpl.Paused}, Want: "paused", State: wire.StateDegraded},
		{Faults: []string{simzpl.BufferFull}, Want: "buffer_full", State: wire.StateDegraded},
		{Faults: []string{simzpl.ConfigLost}, Want: "config_lost", State: wire.StateFault},
		{Faults: []string{simzpl.CleanHead}, Want: "maintenance_due", State: wire.StateDegraded},
		{Faults: []string{simzpl.HeadCold}, Want: "head_cold", State: wire.StateDegraded},
		{Faults: []string{simzpl.PaperOut, simzpl.CoverOpen, simzpl.Paused}, Want: "cover_open,paper_out,paused", State: wire.StateFault},
		// Firmware that stays silent on ~HS in these states: ~HQES still tells.
		{Faults: []string{simzpl.SilentHSOnError, simzpl.PaperOut}, Want: "paper_out", State: wire.StateFault},
		{Faults: []string{simzpl.SilentHSOnError, simzpl.CoverOpen, simzpl.PaperLow}, Want: "cover_open,paper_low", State: wire.StateFault},
		{Faults: []string{simzpl.SilentHSOnError, simzpl.RibbonOut}, Want: "ribbon_out", State: wire.StateFault},
		{Faults: []string{simzpl.SilentHSOnError, simzpl.MotorOverheat}, Want: "motor_overheat", State: wire.StateFault},
	}
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simzpl.New()
			d := newDriver(t, serve(t, printer), 2*time.Second, &wire.Identity{Vendor: "Zebra", Model: "ZD420", Serial: "D2J184502117"})
			drivertest.RunFaults(t, d, simtest.Switch(t, printer.Switchboard()), cases,
				"vendor=Zebra model=ZD420 serial=D2J184502117 firmware=V84.20.18Z dots_per_mm=8 memory=8192KB")
		})
	}
}

func TestWrongIdentity(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simzpl.New()
			printer.Switchboard().Set(simzpl.WrongIdentity, true)
			d := newDriver(t, serve(t, printer), 2*time.Second, &wire.Identity{Model: "ZD420"})
			r, err := d.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			transcript.CheckFaults(t, name, "unknown_device", r.Faults)
			transcript.CheckIdentity(t, name, "vendor=Zebra model=GK420d serial=28J162300870 firmware=V61.17.17Z", r.Identity)
			id, err := d.(drivers.Identifier).Identify(context.Background())
			if err != nil || id.Model != "GK420d" || id.Serial != "28J162300870" {
				t.Errorf("Identify = %+v, %v", id, err)
			}
		})
	}
}

// Older firmware without ~HQES: ~HS alone, cutter errors unseen.
func TestOlderFirmware(t *testing.T) {
	printer := simzpl.New()
	printer.Switchboard().Set(simzpl.NoHQES, true)
	d := newDriver(t, transports["tcp"](t, printer), 2*time.Second, nil)
	for _, f := range []string{"", simzpl.PaperOut} {
		if f != "" {
			printer.Switchboard().Set(f, true)
		}
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"": "none", simzpl.PaperOut: "paper_out"}[f]
		transcript.CheckFaults(t, "no ~HQES "+f, want, r.Faults)
	}
}

// Firmware without ~HQSN (older printers, clones): the identity keeps what
// ~HI gave, and ~HQSN is not asked again.
func TestWithoutHQSN(t *testing.T) {
	printer := simzpl.New()
	printer.Switchboard().Set(simzpl.NoHQSN, true)
	d := newDriver(t, transports["tcp"](t, printer), 2*time.Second, &wire.Identity{Serial: "D2J184502117"})
	for range 2 {
		id, err := d.(drivers.Identifier).Identify(context.Background())
		if err != nil || id.Model != "ZD420" || id.Vendor != "Zebra" || id.Serial != "" || id.Extra["serial_number"] == "" {
			t.Fatalf("Identify = %+v, %v; want the ~HI identity, no serial, and why", id, err)
		}
	}
	r, err := d.Probe(context.Background())
	if err != nil || len(r.Faults) != 0 {
		t.Errorf("probe without a serial number: %+v, %v; want no unknown_device", r.Faults, err)
	}
}

func TestMisbehaviour(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simzpl.New()
			d := newDriver(t, serve(t, printer), 600*time.Millisecond, nil)
			drivertest.RunMisbehaviour(t, d, printer.Switchboard(), 600*time.Millisecond)
		})
	}
}

// A printer that answers each request in 500 ms is healthy under a 2 s
// timeout: the timeout bounds each of the probe's exchanges (~HS, ~HQES,
// and on this first probe ~HI and ~HQSN), not all of them together.
func TestSlowPrinter(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			printer := simzpl.New()
			d := newDriver(t, serve(t, printer), drivertest.SlowTimeout, nil)
			r := drivertest.RunSlowPerRequest(t, d, printer.Switchboard())
			if len(r.Faults) != 0 || r.Identity == nil || r.Identity.Serial == "" {
				t.Errorf("slow printer: faults %+v, identity %+v; want healthy with its identity", r.Faults, r.Identity)
			}
		})
	}
}
