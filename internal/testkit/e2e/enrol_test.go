//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// enrolHub is a real storehub with its embedded broker, taking
// enrolments, for the tests below.
type enrolHub struct {
	t        *testing.T
	api, url string // host:port and http://host:port
	mqtt     string
	proc     *testenv.Process
}

func startEnrolHub(t *testing.T) *enrolHub {
	return startEnrolHubWith(t, "", nil)
}

// startEnrolHubWith is startEnrolHub with more of hub.yaml, and the
// agents given the broker URL via(broker's host:port) instead of the
// broker's own, if via is set.
func startEnrolHubWith(t *testing.T, more string, via func(broker string) string) *enrolHub {
	t.Helper()
	apiAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	mqttAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	agentsURL := "tcp://" + mqttAddr
	if via != nil {
		agentsURL = via(mqttAddr)
	}
	cfg := write(t, "hub.yaml", fmt.Sprintf(`data_dir: %s
api: {listen: "%s", tokens: [{name: e2e, role: admin, token: %s}]}
broker: {embedded: {listen: "%s"}}
enrolment: {broker_urls: ["%s"]}
`, t.TempDir(), apiAddr, apiToken, mqttAddr, agentsURL)+more)
	h := &enrolHub{t: t, api: apiAddr, url: "http://" + apiAddr, mqtt: "tcp://" + mqttAddr}
	h.proc = testenv.Start(t, filepath.Join(bin, "storehub"), "serve", "--config", cfg)
	testenv.WaitForPort(t, apiAddr, 20*time.Second)
	return h
}

// storehub runs a storehub client command against the hub and returns its
// stdout, failing the test if it fails.
func (h *enrolHub) storehub(args ...string) string {
	h.t.Helper()
	cmd := exec.Command(filepath.Join(bin, "storehub"), args...)
	cmd.Env = append(os.Environ(), "STOREHUB_API="+h.url, "STOREHUB_TOKEN="+apiToken)
	out, err := cmd.Output()
	if err != nil {
		var stderr string
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		h.t.Fatalf("storehub %v: %v\n%s%s", args, err, out, stderr)
	}
	return string(out)
}

// token creates an enrolment token with storehub tokens create.
func (h *enrolHub) token(args ...string) string {
	h.t.Helper()
	out := h.storehub(append([]string{"tokens", "create", "--tenant", "acme"}, args...)...)
	return strings.TrimSpace(strings.SplitN(out, "\n", 2)[0])
}

func (h *enrolHub) agents() []api.AgentView {
	h.t.Helper()
	var out []api.AgentView
	if err := json.Unmarshal([]byte(h.storehub("agents", "--json")), &out); err != nil {
		h.t.Fatal(err)
	}
	return out
}

func (h *enrolHub) agent(id string) *api.AgentView {
	for _, a := range h.agents() {
		if a.ID().String() == id {
			return &a
		}
	}
	return nil
}

// storePC writes a store PC's agent.yaml before enrolment: its devices
// only (devices: lines), polled every second, a heartbeat every
// heartbeat seconds, the outbox in its directory.
func storePC(t *testing.T, heartbeat int, devices string) (dir, config string) {
	t.Helper()
	dir = t.TempDir()
	config = filepath.Join(dir, "agent.yaml")
	err := os.WriteFile(config, []byte(fmt.Sprintf(`tenant: unconfigured
store: unconfigured
agent: unconfigured
site: {timezone: Europe/Berlin}
outbox: {path: %s}
polling: {interval: 1s, timeout: 800ms, debounce: 1, grace: 0s}
telemetry: {interval: %ds}
devices:
%s`, filepath.Join(dir, "outbox.db"), heartbeat, devices)), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	return dir, config
}

// enrolledAgent enrols the store PC of agentCfg as acme/S0042/main and
// runs its agent until it is online at the hub (both outputs logged if
// the test fails).
func enrolledAgent(t *testing.T, h *enrolHub, agentCfg string) *testenv.Process {
	t.Helper()
	if code, out := enroll(t, h.url, h.token(), "S0042", agentCfg); code != 0 {
		t.Fatalf("enroll: exit %d\n%s", code, out)
	}
	agent := testenv.Start(t, filepath.Join(bin, "storeagent"), "run", "--config", agentCfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub:\n%s\nagent:\n%s", h.proc.Output(), agent.Output())
		}
	})
	testenv.WaitFor(t, 30*time.Second, "the agent online", func() bool {
		a := h.agent("acme/S0042/main")
		return a != nil && a.Online
	})
	return agent
}

// enroll runs storeagent enroll and returns its exit code and output.
func enroll(t *testing.T, hubURL, token, store, config string) (int, string) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "storeagent"), "enroll", "--hub", hubURL, "--token", token, "--store", store, "--config", config)
	out, err := cmd.CombinedOutput()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, string(out)
}

// A store PC is enrolled with one command and a token: it gets its own
// broker login, which the embedded broker takes at once; it appears in
// the fleet view before it ever connects, then with its version, OS and
// configuration; revoking it at the hub cuts it off at the broker; the
// replacement PC enrolled under the same id carries on the store's
// history. Expired, reused and wrong-store tokens are refused with the
// reason.
func TestEnrolledAgentReportsAndRevokedAgentIsCutOff(t *testing.T) {
	printer := escpos.New()
	srv, err := devsim.ServeTCP(context.Background(), printer, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	h := startEnrolHub(t)

	// The store PC's configuration before enrolment: its devices only.
	pcDir, agentCfg := storePC(t, 5, fmt.Sprintf("  - {id: receipt-lane2, kind: receipt_printer, driver: escpos, address: 'tcp://%s', location: lane 2}\n", srv.Addr))

	tok := h.token("--stores", "S0*", "--uses", "1")
	if !strings.HasPrefix(tok, "swe_") {
		t.Fatalf("storehub tokens create printed %q first", tok)
	}
	if code, out := enroll(t, h.url, tok, "S0042", agentCfg); code != 0 {
		t.Fatalf("storeagent enroll: exit %d\n%s", code, out)
	}
	st, err := os.Stat(filepath.Join(pcDir, "broker-password"))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("broker-password: %v, mode %v; want 0600", err, st.Mode().Perm())
	}
	written := string(testenv.ReadFile(t, agentCfg))
	for _, want := range []string{"tenant: acme", "store: S0042", "agent: main", "password_file: broker-password", "hub_public_key:", h.mqtt,
		"receipt-lane2"} {
		if !strings.Contains(written, want) {
			t.Errorf("agent.yaml after enrolment lacks %q:\n%s", want, written)
		}
	}
	// It is in the fleet at once, before it connects.
	if a := h.agent("acme/S0042/main"); a == nil || a.Enrolment == nil || a.Online || !a.LastSeen.IsZero() {
		t.Fatalf("right after enrolment the fleet shows %+v", a)
	}

	agent := testenv.Start(t, filepath.Join(bin, "storeagent"), "run", "--config", agentCfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub:\n%s\nagent:\n%s", h.proc.Output(), agent.Output())
		}
	})
	var seen *api.AgentView
	testenv.WaitFor(t, 30*time.Second, "the enrolled agent online with a heartbeat", func() bool {
		seen = h.agent("acme/S0042/main")
		return seen != nil && seen.Online && seen.Heartbeat != nil && seen.Heartbeat.Config != nil
	})
	if seen.OS == "" || seen.Version == "" || !strings.HasPrefix(seen.Heartbeat.Config.Version, "local-") || seen.Enrolment.Hostname == "" {
		t.Errorf("fleet view of the enrolled agent: %+v", seen)
	}
	testenv.WaitFor(t, 30*time.Second, "the printer's state at the hub", func() bool {
		return strings.Contains(h.storehub("devices", "--store", "S0042"), "receipt-lane2")
	})

	// Tokens that must not enrol, each with its reason.
	other := filepath.Join(t.TempDir(), "agent.yaml")
	for _, c := range []struct {
		name, token, store, want string
	}{
		{"reused", tok, "S0043", "used_up"},
		{"expired", h.token("--expires", "1ms"), "S0043", "expired"},
		{"wrong store", h.token("--stores", "N*"), "S0043", "wrong_store"},
		{"unknown", "swe_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "S0043", "unknown_token"},
	} {
		code, out := enroll(t, h.url, c.token, c.store, other)
		if code != 2 || !strings.Contains(out, c.want) {
			t.Errorf("%s token: exit %d, %q; want exit 2 saying %s", c.name, code, out, c.want)
		}
	}
	if _, err := os.Stat(other); err == nil {
		t.Errorf("a refused enrolment wrote %s", other)
	}
	if a := h.agent("acme/S0043/main"); a != nil {
		t.Errorf("a refused enrolment is in the fleet: %+v", a)
	}

	// Revoked: disconnected at once and refused from then on.
	password := strings.TrimSpace(string(testenv.ReadFile(t, filepath.Join(pcDir, "broker-password"))))
	h.storehub("agents", "revoke", "acme/S0042/main")
	testenv.WaitFor(t, 30*time.Second, "the revoked agent offline", func() bool {
		a := h.agent("acme/S0042/main")
		return a != nil && !a.Online && a.Enrolment.Revoked()
	})
	if _, err := brokertest.Dial(t, h.mqtt, brokertest.Options{User: "acme-S0042-main", Password: password}); err == nil {
		t.Fatal("the broker takes a revoked agent's login")
	}
	testenv.WaitFor(t, 30*time.Second, "the agent to see its login refused", func() bool {
		return strings.Contains(agent.Output(), "refused the password for user acme-S0042-main")
	})
	agent.Stop(10 * time.Second)

	// The replacement PC enrols under the same id with a new token and
	// reports the store's devices again: one agent, not two, with its
	// history.
	newDir := t.TempDir()
	newCfg := filepath.Join(newDir, "agent.yaml")
	if err := os.WriteFile(newCfg, []byte(strings.ReplaceAll(strings.ReplaceAll(written, pcDir, newDir), "password_file: broker-password", "")), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out := enroll(t, h.url, h.token(), "S0042", newCfg); code != 0 || !strings.Contains(out, "replacing the PC") {
		t.Fatalf("re-enrolment: exit %d\n%s", code, out)
	}
	testenv.Start(t, filepath.Join(bin, "storeagent"), "run", "--config", newCfg)
	testenv.WaitFor(t, 30*time.Second, "the replacement PC online", func() bool {
		a := h.agent("acme/S0042/main")
		return a != nil && a.Online && !a.Enrolment.Revoked() && a.Enrolment.Replaced == 1
	})
	n := 0
	for _, a := range h.agents() {
		if a.Store == "S0042" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("the store has %d agents after its PC was replaced, want 1", n)
	}
}
