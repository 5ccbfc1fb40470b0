package snmptest

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gosnmp/gosnmp"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// Agent is a running snmpd serving the emulated printer.
type Agent struct {
	Host    string // the loopback address it listens on
	Port    int    // its UDP port
	Control string // the faults file the pass_persist helper reads before every request
}

// Start runs snmpd on host:port (community public, from loopback) until the
// test ends; extra is added to its configuration (v3 users, say). Under
// CI a missing snmpd fails the test (testenv.LookPath).
func Start(t testing.TB, host string, port int, extra string) *Agent {
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
	a := &Agent{Host: host, Port: port, Control: filepath.Join(dir, "faults")}
	a.Set(t)
	conf := filepath.Join(dir, "snmpd.conf")
	// Reference 7.3: pass_persist -p 1 shadows the host-resources tables
	// once snmpd's own modules for them are left out (-I -hr_...).
	cfg := fmt.Sprintf(`agentaddress udp:%s:%d
rocommunity public 127.0.0.0/8
%s
sysDescr storewatch test printer agent
pass_persist -p 1 .1.3.6.1.2.1.25.3 %s -control %s
pass_persist -p 1 .1.3.6.1.2.1.43 %s -control %s
`, host, port, extra, helper, a.Control, helper, a.Control)
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	p := testenv.Start(t, env, "SNMP_PERSISTENT_DIR="+filepath.Join(dir, "state"), snmpd, "-f", "-Lo", "-C", "-m", "", "-c", conf,
		"-I", "-hr_device,hr_print,hr_other,hr_proc,hr_network,hr_disk,hr_partition,hrh_filesys")
	t.Cleanup(func() { p.Stop(5 * time.Second) })
	testenv.WaitFor(t, 15*time.Second, "snmpd to answer", func() bool {
		if p.Exited() {
			t.Fatalf("snmpd exited:\n%s", p.Output())
		}
		return a.answers()
	})
	return a
}

// answers reports whether snmpd gives the printer's hrDeviceDescr.
func (a *Agent) answers() bool {
	g := &gosnmp.GoSNMP{Target: a.Host, Port: uint16(a.Port), Community: "public", Version: gosnmp.Version2c, Timeout: 500 * time.Millisecond}
	if err := g.Connect(); err != nil {
		return false
	}
	defer g.Conn.Close()
	r, err := g.Get([]string{".1.3.6.1.2.1.25.3.2.1.3.1"})
	return err == nil && len(r.Variables) == 1 && r.Variables[0].Type == gosnmp.OctetString
}

// Set switches the emulated printer's faults (and every other one off).
func (a *Agent) Set(t testing.TB, faults ...string) {
	t.Helper()
	tmp := a.Control + ".tmp"
	if err := os.WriteFile(tmp, []byte(strings.Join(faults, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, a.Control); err != nil {
		t.Fatal(err)
	}
}
