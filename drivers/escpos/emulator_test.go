package escpos_test

import (
	"context"
	"testing"
	"time"

	simescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/escpos" // registers "escpos"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// serve starts the emulated printer on one transport and returns the
// address a store's config would give for it.
type server func(t *testing.T, p *simescpos.Printer) string

var transports = map[string]server{
	"pty": func(t *testing.T, p *simescpos.Printer) string { return "serial://" + simtest.PTY(t, p) + "?baud=9600" },
	"tcp": func(t *testing.T, p *simescpos.Printer) string { return "tcp://" + simtest.TCP(t, p) },
	// The USB printer-class node (/dev/usb/lp0) is opened as a plain file;
	// a PTY's slave end stands in for it.
	"usb-node": func(t *testing.T, p *simescpos.Printer) string { return "usb://" + simtest.PTY(t, p) },
}

func newDriver(t *testing.T, addr string, timeout time.Duration, expected *wire.Identity) drivers.Prober {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drivers.New("escpos", drivers.Spec{ID: "lane1-receipt", Kind: "receipt_printer", Address: a, Timeout: timeout,
		Options: drivers.NewOptions(map[string]string{"identity_step": "300ms"}), Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestFaultsThroughEmulator(t *testing.T) {
	cases := []drivertest.FaultCase{
		{Faults: nil, Want: "none", State: wire.StateOK},
		{Faults: []string{simescpos.PaperLow}, Want: "paper_low", State: wire.StateDegraded},
		{Faults: []string{simescpos.PaperOut}, Want: "paper_out", State: wire.StateFault},
		{Faults: []string{simescpos.PaperOut, simescpos.PaperLow}, Want: "paper_out", State: wire.StateFault},
		{Faults: []string{simescpos.CoverOpen}, Want: "cover_open", State: wire.StateFault},
		{Faults: []string{simescpos.CutterError}, Want: "cutter_error", State: wire.StateFault},
		{Faults: []string{simescpos.MechanicalError}, Want: "mechanical_error", State: wire.StateFault},
		{Faults: []string{simescpos.HeadOverheat}, Want: "head_overheat", State: wire.StateFault},
		{Faults: []string{simescpos.UnrecoverableError}, Want: "unrecoverable_error", State: wire.StateFault},
		{Faults: []string{simescpos.Offline}, Want: "offline", State: wire.StateFault},
		{Faults: []string{simescpos.FeedButton}, Want: "offline", State: wire.StateFault},
		{Faults: []string{simescpos.DrawerHigh}, Want: "drawer_open", State: wire.StateOK},
		{Faults: []string{simescpos.CoverOpen, simescpos.PaperLow, simescpos.DrawerHigh}, Want: "cover_open,drawer_open,paper_low", State: wire.StateFault},
	}
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simescpos.New()
			d := newDriver(t, serve(t, printer), 3*time.Second, &wire.Identity{Vendor: "EPSON", Model: "TM-T88V", Serial: "X5E1234567"})
			drivertest.RunFaults(t, d, simtest.Switch(t, printer.Switchboard()), cases,
				"vendor=EPSON model=TM-T88V serial=X5E1234567 firmware=1.28 model_id=0x20")
		})
	}
}

func TestSeverities(t *testing.T) {
	printer := simescpos.New()
	d := newDriver(t, transports["tcp"](t, printer), 3*time.Second, nil)
	printer.Switchboard().Set(simescpos.UnrecoverableError, true)
	printer.Switchboard().Set(simescpos.PaperLow, true)
	r, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	sev := map[wire.FaultCode]wire.Severity{}
	for _, f := range r.Faults {
		sev[f.Code] = f.Severity
	}
	// Both conditions are true and both are reported, each with its own
	// severity from the vocabulary.
	if sev[wire.FaultUnrecoverableError] != wire.SeverityCritical || sev[wire.FaultPaperLow] != wire.SeverityWarning {
		t.Errorf("severities = %v", sev)
	}
}

func TestWrongIdentity(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simescpos.New()
			printer.Switchboard().Set(simescpos.WrongIdentity, true)
			d := newDriver(t, serve(t, printer), 3*time.Second, &wire.Identity{Vendor: "EPSON", Model: "TM-T88V", Serial: "X5E1234567"})
			r, err := d.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			transcript.CheckFaults(t, name, "unknown_device", r.Faults)
			transcript.CheckIdentity(t, name, "model=TM-T20III serial=Y7K7654321", r.Identity)
			// Later probes do not ask again but still flag the swap.
			r, err = d.Probe(context.Background())
			if err != nil || r.Identity != nil {
				t.Fatalf("second probe: identity %v, err %v", r.Identity, err)
			}
			transcript.CheckFaults(t, name, "unknown_device", r.Faults)
		})
	}
}

func TestOlderPrinterWithoutInfoStrings(t *testing.T) {
	printer := simescpos.New()
	printer.Switchboard().Set(simescpos.NoPrinterInfo, true)
	d := newDriver(t, transports["tcp"](t, printer), 3*time.Second, nil)
	r, err := d.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	transcript.CheckFaults(t, "no GS I 65..69", "none", r.Faults)
	transcript.CheckIdentity(t, "no GS I 65..69", "vendor= serial= model=ESC/POS_model_ID_0x20 firmware=ROM_ID_0x41", r.Identity)
	id, err := d.(drivers.Identifier).Identify(context.Background())
	if err != nil || id.Extra["model_id"] != "0x20" {
		t.Errorf("Identify = %+v, %v", id, err)
	}
}

// Garbage is a protocol error; silence and an answer slower than the
// timeout are no_response. None of them may panic or hang.
func TestMisbehaviour(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simescpos.New()
			d := newDriver(t, serve(t, printer), 600*time.Millisecond, nil)
			drivertest.RunMisbehaviour(t, d, printer.Switchboard(), 600*time.Millisecond)
		})
	}
}

func TestUnreachable(t *testing.T) {
	for _, addr := range []string{"serial:///dev/ttyDOESNOTEXIST7", "usb:///dev/usb/lpDOESNOTEXIST", "tcp://127.0.0.1:1", "usb://04b8:0e28"} {
		d := newDriver(t, addr, time.Second, nil)
		_, err := d.Probe(context.Background())
		if f := drivers.FaultFor(err); f.Code != wire.FaultUnreachable {
			t.Errorf("%s: fault %s (%v), want unreachable", addr, f.Code, err)
		}
	}
}

// A printer that answers each request in 500 ms is healthy under a 2 s
// timeout: the timeout bounds each of the probe's exchanges (four DLE EOT,
// and on this first probe eight GS I), not all of them together.
func TestSlowPrinter(t *testing.T) {
	for _, name := range []string{"pty", "tcp"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			printer := simescpos.New()
			a, err := transport.Parse(transports[name](t, printer))
			if err != nil {
				t.Fatal(err)
			}
			d, err := drivers.New("escpos", drivers.Spec{ID: "lane1-receipt", Kind: "receipt_printer", Address: a,
				Timeout: drivertest.SlowTimeout, Options: drivers.NewOptions(nil)})
			if err != nil {
				t.Fatal(err)
			}
			r := drivertest.RunSlowPerRequest(t, d, printer.Switchboard())
			if len(r.Faults) != 0 || r.Identity == nil || r.Identity.Vendor == "" {
				t.Errorf("slow printer: faults %+v, identity %+v; want healthy with its identity", r.Faults, r.Identity)
			}
		})
	}
}
