package snmpprinter_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/snmpprinter" // registers "snmpprinter"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// agent is Debian's snmpd on a loopback port, serving the emulated
// printer (devsim/snmpprinter) through pass_persist.
type agent struct {
	port    int
	control string
}

// The v3 user snmpd creates at start.
const (
	v3User     = "storewatch"
	v3AuthPass = "authpass-123"
	v3PrivPass = "privpass-123"
)

func startAgent(t *testing.T) *agent {
	t.Helper()
	snmpd := testenv.LookPath(t, "snmpd")
	env := testenv.LookPath(t, "env")
	dir := t.TempDir()
	helper := filepath.Join(dir, "printer-mib")
	build := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", helper,
		"github.com/storewatch/storewatch/devsim/snmpprinter/cmd/printer-mib")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the pass_persist helper: %v\n%s", err, out)
	}
	a := &agent{port: testenv.FreeUDPPort(t), control: filepath.Join(dir, "faults")}
	a.set(t)
	conf := filepath.Join(dir, "snmpd.conf")
	// Reference 7.3: pass_persist -p 1 shadows the host-resources tables
	// once snmpd's own modules for them are left out (-I -hr_...).
	cfg := fmt.Sprintf(`agentaddress udp:127.0.0.1:%d
rocommunity public 127.0.0.1
createUser %s SHA "%s" AES "%s"
rouser %s priv
sysDescr storewatch test printer agent
pass_persist -p 1 .1.3.6.1.2.1.25.3 %s -control %s
pass_persist -p 1 .1.3.6.1.2.1.43 %s -control %s
`, a.port, v3User, v3AuthPass, v3PrivPass, v3User, helper, a.control, helper, a.control)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, env, "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "state"), snmpd, "-f", "-Lo", "-C", "-m", "", "-c", conf,
		"-I", "-hr_device,hr_print,hr_other,hr_proc,hr_network,hr_disk,hr_partition,hrh_filesys")
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	d := a.driver(t, "", nil, time.Second)
	testenv.WaitFor(t, 15*time.Second, "snmpd to answer", func() bool {
		if p.Exited() {
			t.Fatalf("snmpd exited:\n%s", p.Output())
		}
		_, err := d.Probe(context.Background())
		return err == nil
	})
	return a
}

// set switches the emulated printer's faults (the helper reads the file
// before every request).
func (a *agent) set(t *testing.T, faults ...string) {
	t.Helper()
	tmp := a.control + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(faults, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, a.control); err != nil {
		t.Fatal(err)
	}
}

func (a *agent) driver(t *testing.T, query string, expected *wire.Identity, timeout time.Duration) drivers.Prober {
	t.Helper()
	return a.driverWith(t, query, expected, timeout, nil)
}

func (a *agent) driverWith(t *testing.T, query string, expected *wire.Identity, timeout time.Duration, opts map[string]string) drivers.Prober {
	t.Helper()
	addr, err := transport.Parse(fmt.Sprintf("snmp://127.0.0.1:%d?%s", a.port, query))
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
