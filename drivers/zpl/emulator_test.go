package zpl_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	simzpl "github.com/storewatch/storewatch/devsim/zpl"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	_ "github.com/storewatch/storewatch/drivers/zpl" // registers "zpl"
	"github.com/storewatch/storewatch/internal/simtest"
	"github.com/storewatch/storewatch/internal/transcript"
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
	cases := []struct {
		faults []string
		want   string
		state  wire.HealthState
	}{
		{nil, "none", wire.StateOK},
		{[]string{simzpl.PaperOut}, "paper_out", wire.StateFault},
		{[]string{simzpl.PaperLow}, "paper_low", wire.StateDegraded},
		{[]string{simzpl.CoverOpen}, "cover_open", wire.StateFault},
		{[]string{simzpl.RibbonOut}, "ribbon_out", wire.StateFault},
		{[]string{simzpl.CutterError}, "cutter_error", wire.StateFault},
		{[]string{simzpl.HeadOverheat}, "head_overheat", wire.StateFault},
		{[]string{simzpl.HeadFault}, "head_fault", wire.StateFault},
		{[]string{simzpl.Paused}, "paused", wire.StateDegraded},
		{[]string{simzpl.BufferFull}, "buffer_full", wire.StateDegraded},
		{[]string{simzpl.ConfigLost}, "config_lost", wire.StateFault},
		{[]string{simzpl.CleanHead}, "maintenance_due", wire.StateDegraded},
		{[]string{simzpl.HeadCold}, "none", wire.StateOK},
		{[]string{simzpl.PaperOut, simzpl.CoverOpen, simzpl.Paused}, "cover_open,paper_out,paused", wire.StateFault},
		// Firmware that stays silent on ~HS in these states: ~HQES still tells.
		{[]string{simzpl.SilentHSOnError, simzpl.PaperOut}, "paper_out", wire.StateFault},
		{[]string{simzpl.SilentHSOnError, simzpl.CoverOpen, simzpl.PaperLow}, "cover_open,paper_low", wire.StateFault},
		{[]string{simzpl.SilentHSOnError, simzpl.RibbonOut}, "ribbon_out", wire.StateFault},
	}
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simzpl.New()
			d := newDriver(t, serve(t, printer), 2*time.Second, &wire.Identity{Model: "ZD420"})
			for i, c := range cases {
				sb := printer.Switchboard()
				sb.Clear()
				for _, f := range c.faults {
					if err := sb.Set(f, true); err != nil {
						t.Fatal(err)
					}
				}
				r, err := d.Probe(context.Background())
				if err != nil {
					t.Fatalf("%v: %v", c.faults, err)
				}
				label := fmt.Sprint(c.faults)
				transcript.CheckFaults(t, label, c.want, r.Faults)
				if s := wire.StateOf(r.Faults); s != c.state {
					t.Errorf("%s: state %s, want %s", label, s, c.state)
				}
				if i == 0 {
					transcript.CheckIdentity(t, label, "model=ZD420 firmware=V84.20.18Z dots_per_mm=8 memory=8192KB", r.Identity)
				}
			}
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
			transcript.CheckIdentity(t, name, "model=GK420d firmware=V61.17.17Z", r.Identity)
			id, err := d.(drivers.Identifier).Identify(context.Background())
			if err != nil || id.Model != "GK420d" {
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

func TestMisbehaviour(t *testing.T) {
	for name, serve := range transports {
		t.Run(name, func(t *testing.T) {
			printer := simzpl.New()
			sb := printer.Switchboard()
			d := newDriver(t, serve(t, printer), 600*time.Millisecond, nil)

			sb.Set(devsim.FaultGarbage, true)
			_, err := d.Probe(context.Background())
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("garbage: err = %v, want a protocol error", err)
			}
			sb.Clear()

			sb.Set(devsim.FaultSilent, true)
			_, err = d.Probe(context.Background())
			if !isTimeout(err) || drivers.FaultFor(err).Code != wire.FaultNoResponse {
				t.Errorf("silent: err = %v, want a timeout", err)
			}
			sb.Clear()

			sb.SetDelay(1500 * time.Millisecond)
			sb.Set(devsim.FaultSlow, true)
			_, err = d.Probe(context.Background())
			if drivers.FaultFor(err).Code != wire.FaultNoResponse {
				t.Errorf("slow: err = %v, want no_response", err)
			}
		})
	}
}

func isTimeout(err error) bool {
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded)
}
