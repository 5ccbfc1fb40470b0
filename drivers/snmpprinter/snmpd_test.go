package snmpprinter_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/snmpprinter" // registers "snmpprinter"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/snmptest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// agent is Debian's snmpd on a loopback port, serving the emulated
// printer (devsim/snmpprinter) through pass_persist.
type agent struct{ *snmptest.Agent }

// The v3 user snmpd creates at start.
const (
	v3User     = "storewatch"
	v3AuthPass = "authpass-123"
	v3PrivPass = "privpass-123"
)

func startAgent(t *testing.T) *agent {
	t.Helper()
	return &agent{snmptest.Start(t, "127.0.0.1", testenv.FreeUDPPort(t),
		fmt.Sprintf("createUser %s SHA \"%s\" AES \"%s\"\nrouser %s priv", v3User, v3AuthPass, v3PrivPass, v3User))}
}

// set switches the emulated printer's faults.
func (a *agent) set(t *testing.T, faults ...string) { a.Set(t, faults...) }

func (a *agent) driver(t *testing.T, query string, expected *wire.Identity, timeout time.Duration) drivers.Prober {
	t.Helper()
	return a.driverWith(t, query, expected, timeout, nil)
}

func (a *agent) driverWith(t *testing.T, query string, expected *wire.Identity, timeout time.Duration, opts map[string]string) drivers.Prober {
	t.Helper()
	addr, err := transport.Parse(fmt.Sprintf("snmp://127.0.0.1:%d?%s", a.Port, query))
	if err != nil {
		t.Fatal(err)
	}
	d, err := drivers.New("snmpprinter", drivers.Spec{ID: "office-printer", Kind: "network_printer", Address: addr,
		Timeout: timeout, Options: drivers.NewOptions(opts), Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

var inventory = &wire.Identity{Model: "HP LaserJet Pro M404dn", Serial: "PHBQA12345"}

func TestAgainstSnmpd(t *testing.T) {
	a := startAgent(t)
	cases := []drivertest.FaultCase{
		{Faults: nil, Want: "none", State: wire.StateOK},
		{Faults: []string{"paper_low"}, Want: "paper_low", State: wire.StateDegraded},
		{Faults: []string{"paper_out"}, Want: "paper_out", State: wire.StateFault},
		{Faults: []string{"cover_open"}, Want: "cover_open", State: wire.StateFault},
		{Faults: []string{"paper_jam"}, Want: "paper_jam", State: wire.StateFault},
		{Faults: []string{"offline"}, Want: "offline", State: wire.StateFault},
		{Faults: []string{"toner_low"}, Want: "consumable_low", State: wire.StateDegraded},
		{Faults: []string{"toner_out"}, Want: "consumable_out", State: wire.StateFault},
		{Faults: []string{"service_requested"}, Want: "maintenance_due", State: wire.StateDegraded},
		{Faults: []string{"offline", "cover_open", "paper_low"}, Want: "cover_open,offline,paper_low", State: wire.StateFault},
		// down(5), warmup(5) and the offline bit: warming up, not offline.
		{Faults: []string{"warming_up"}, Want: "none", State: wire.StateOK},
		{Faults: []string{"warming_up", "paper_out"}, Want: "paper_out", State: wire.StateFault},
	}
	for _, version := range []string{"version=2c&community=public", "version=1",
		"version=3&user=" + v3User + "&auth=SHA&auth_pass=" + v3AuthPass + "&priv=AES&priv_pass=" + v3PrivPass} {
		t.Run(strings.SplitN(version, "&", 2)[0], func(t *testing.T) {
			d := a.driver(t, version, inventory, 2*time.Second)
			drivertest.RunFaults(t, d, func(faults ...string) { a.set(t, faults...) }, cases,
				"model=HP_LaserJet_Pro_M404dn serial=PHBQA12345 sysdescr=storewatch_test_printer_agent")
			// The healthy printer's supplies, in percent left.
			a.set(t)
			r, err := d.Probe(context.Background())
			if err != nil || r.Measurements["supply_percent:Black Toner Cartridge"] != 80 || r.Measurements["supply_percent:Waste Toner Box"] != 90 {
				t.Errorf("supplies = %v, %v", r.Measurements, err)
			}
		})
	}

	// A warm-up longer than warmup_limit is a fault. The limit is 1ns so
	// that the second probe, made after the first, is past it whatever the
	// machine's speed; the default is minutes.
	t.Run("warm-up that never ends", func(t *testing.T) {
		a.set(t, "warming_up")
		d := a.driverWith(t, "", nil, 2*time.Second, map[string]string{"warmup_limit": "1ns"})
		r, err := d.Probe(context.Background())
		if err != nil || len(r.Faults) != 0 || !strings.Contains(r.Detail, "warming up") {
			t.Fatalf("first probe while warming up: %+v, %v; want no fault and the warm-up in the detail", r, err)
		}
		r, err = d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		transcript.CheckFaults(t, "warming up past the limit", "offline", r.Faults)
		if len(r.Faults) == 1 && !strings.Contains(r.Faults[0].Detail, "longer than warmup_limit") {
			t.Errorf("detail %q, want the warm-up and its limit", r.Faults[0].Detail)
		}
		a.set(t)
		if r, err := d.Probe(context.Background()); err != nil || len(r.Faults) != 0 {
			t.Errorf("ready again: %+v, %v", r.Faults, err)
		}
	})

	t.Run("wrong identity", func(t *testing.T) {
		a.set(t, "wrong_identity")
		d := a.driver(t, "", inventory, 2*time.Second)
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		transcript.CheckFaults(t, "wrong identity", "unknown_device", r.Faults)
		id, err := d.(drivers.Identifier).Identify(context.Background())
		if err != nil || id.Model != "Brother HL-L5100DN" || id.Serial != "E78123A9N456789" {
			t.Errorf("Identify = %+v, %v", id, err)
		}
	})

	t.Run("wrong v3 passphrase", func(t *testing.T) {
		a.set(t)
		d := a.driver(t, "version=3&user="+v3User+"&auth_pass=wrong-pass-1&priv_pass="+v3PrivPass, nil, time.Second)
		if _, err := d.Probe(context.Background()); err == nil {
			t.Error("a wrong passphrase read the printer")
		}
	})

	t.Run("garbage", func(t *testing.T) {
		a.set(t, "garbage")
		_, err := a.driver(t, "", nil, 2*time.Second).Probe(context.Background())
		if !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("err = %v, want a protocol error", err)
		}
	})

	t.Run("silent", func(t *testing.T) {
		a.set(t, "silent")
		d := a.driver(t, "", nil, time.Second)
		_, err := d.Probe(context.Background())
		if f := drivers.FaultFor(err); f.Code != wire.FaultNoResponse || !errors.Is(err, os.ErrDeadlineExceeded) {
			t.Errorf("err = %v (%s), want no_response after the timeout", err, f.Code)
		}
		// Once the printer answers again, so does the driver.
		a.set(t)
		testenv.WaitFor(t, 15*time.Second, "the agent to answer again", func() bool {
			_, err := d.Probe(context.Background())
			return err == nil
		})
	})
}

func TestNoAgentIsUnreachable(t *testing.T) {
	port := testenv.FreeUDPPort(t)
	addr, _ := transport.Parse(fmt.Sprintf("snmp://127.0.0.1:%d", port))
	d, err := drivers.New("snmpprinter", drivers.Spec{Address: addr, Timeout: time.Second, Options: drivers.NewOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	_, err = d.Probe(context.Background())
	if f := drivers.FaultFor(err); f.Code != wire.FaultUnreachable {
		t.Errorf("err = %v (%s), want unreachable", err, f.Code)
	}
}
