package agenttest

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Build compiles storeagent into a temporary directory and returns its path.
func Build(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "storeagent")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/storewatch/storewatch/cmd/storeagent").CombinedOutput()
	if err != nil {
		t.Fatalf("build storeagent: %v\n%s", err, out)
	}
	return bin
}

// Device is one device in the agent's configuration.
type Device struct {
	ID, Kind, Driver, Address, Location string
}

// Config is what the test chooses of the agent's configuration; the rest
// is fixed: store time zone Europe/Berlin, debounce 1, no grace.
type Config struct {
	ID             wire.AgentID
	BrokerURL      string
	User, Password string
	HubPublicKey   string
	Devices        []Device
	// Interval is the poll interval (default 2s).
	Interval time.Duration
}

// Agent is a running storeagent.
type Agent struct {
	Proc     *testenv.Process
	Config   string // the configuration file
	AuditLog string // its remote-query audit log
}

// Start writes the configuration and starts bin with it. The process is
// killed when the test ends; its output is logged if the test failed.
func Start(t testing.TB, bin string, c Config) *Agent {
	t.Helper()
	dir := t.TempDir()
	if c.Interval == 0 {
		c.Interval = 2 * time.Second
	}
	var b strings.Builder
	fmt.Fprintf(&b, "tenant: %s\nstore: %s\nagent: %s\n", c.ID.Tenant, c.ID.Store, c.ID.Agent)
	fmt.Fprintf(&b, "site: {name: Test store, timezone: Europe/Berlin}\n")
	fmt.Fprintf(&b, "polling: {interval: %s, timeout: 2s, debounce: 1, grace: 0s}\n", c.Interval)
	fmt.Fprintf(&b, "outbox: {path: %q}\n", filepath.Join(dir, "outbox.db"))
	fmt.Fprintf(&b, "broker: {urls: [%q], username: %q, password: %q}\n", c.BrokerURL, c.User, c.Password)
	a := &Agent{Config: filepath.Join(dir, "agent.yaml"), AuditLog: filepath.Join(dir, "audit.log")}
	fmt.Fprintf(&b, "remote: {hub_public_key: %q, audit_log: %q}\n", c.HubPublicKey, a.AuditLog)
	fmt.Fprintf(&b, "log: {level: debug}\ndevices:\n")
	for _, d := range c.Devices {
		fmt.Fprintf(&b, "  - {id: %s, kind: %s, driver: %s, address: %q, location: %q}\n", d.ID, d.Kind, d.Driver, d.Address, d.Location)
	}
	if err := os.WriteFile(a.Config, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	a.Proc = testenv.Start(t, bin, "run", "--config", a.Config)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("storeagent output:\n%s", a.Proc.Output())
		}
	})
	return a
}

// Audit reads the agent's audit log (missing: empty).
func (a *Agent) Audit(t testing.TB) []agent.AuditEntry {
	t.Helper()
	f, err := os.Open(a.AuditLog)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []agent.AuditEntry
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var e agent.AuditEntry
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("audit log line %q: %v", sc.Text(), err)
		}
		out = append(out, e)
	}
	return out
}
