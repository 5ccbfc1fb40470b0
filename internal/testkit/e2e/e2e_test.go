//go:build unix

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

var bin string // directory with the storeagent and storehub binaries

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "storewatch-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	for _, cmd := range []string{"storeagent", "storehub"} {
		out, err := exec.Command("go", "build", "-o", filepath.Join(dir, cmd), "../../../cmd/"+cmd).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "build %s: %v\n%s", cmd, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const apiToken = "e2e-token-0123456789"

// hubIncident is the part of the API's incident the test reads.
type hubIncident struct {
	ID         string `json:"id"`
	Device     string `json:"device"`
	Fault      string `json:"fault"`
	State      string `json:"state"`
	Resolution string `json:"resolution"`
	Ticket     struct {
		Model    string `json:"model"`
		Serial   string `json:"serial"`
		Location string `json:"location"`
	} `json:"ticket"`
}

func incidents(t *testing.T, api string) []hubIncident {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+api+"/api/v1/incidents?fault=paper_out", nil)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil // the hub is still starting
	}
	defer resp.Body.Close()
	var out []hubIncident
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		return nil
	}
	return out
}

// A receipt printer runs out of paper in a store: the real agent sees it
// over TCP 9100, publishes through a real Mosquitto with the ACL storehub
// generates, the real hub opens one ticket with the printer's model and
// serial number, and loading paper resolves it.
func TestPaperOutBecomesATicketAndRecoveryResolvesIt(t *testing.T) {
	printer := escpos.New()
	srv, err := devsim.ServeTCP(context.Background(), printer, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	// Broker credentials and ACL, as an operator would set them up.
	agentHash, _ := broker.HashPassword("agent-secret", 1000)
	hubHash, _ := broker.HashPassword("hub-secret", 1000)
	dataDir := t.TempDir()
	hubYAML := func(mqtt string) string {
		return fmt.Sprintf(`data_dir: %s
api: {listen: "127.0.0.1:%d", tokens: [{name: e2e, role: admin, token: %s}]}
broker: {mode: external, external: {urls: ["%s"], client_id: storehub-e2e, username: storehub, password: hub-secret}}
agents: [{tenant: acme, store: s0042, agent: backoffice-1, password_hash: '%s'}]
policy: {rules: {paper_out: {hold_down: 2s, hold_up: 2s}}}
`, dataDir, testenv.FreePort(t), apiToken, mqtt, agentHash)
	}
	// storehub acl prints the Mosquitto ACL for the configured agents.
	aclCfg := write(t, "hub-acl.yaml", hubYAML("tcp://127.0.0.1:1"))
	acl, err := exec.Command(filepath.Join(bin, "storehub"), "acl", "--config", aclCfg).Output()
	if err != nil {
		t.Fatalf("storehub acl: %v", err)
	}
	mqttURL := brokertest.StartMosquitto(t, string(acl), "acme-s0042-backoffice-1:"+agentHash+"\nstorehub:"+hubHash+"\n")

	hubCfg := write(t, "hub.yaml", hubYAML(mqttURL))
	hub := testenv.Start(t, filepath.Join(bin, "storehub"), "serve", "--config", hubCfg)
	var api string
	testenv.WaitFor(t, 20*time.Second, "the hub's API address in its log", func() bool {
		for _, line := range strings.Split(hub.Output(), "\n") {
			if i := strings.Index(line, "api=127.0.0.1:"); i >= 0 {
				api = strings.Fields(line[i+4:])[0]
				return true
			}
		}
		return false
	})

	agentCfg := write(t, "agent.yaml", fmt.Sprintf(`tenant: acme
store: s0042
agent: backoffice-1
site: {name: Acme Berlin Mitte, timezone: Europe/Berlin}
broker: {urls: ["%s"], username: acme-s0042-backoffice-1, password: agent-secret}
outbox: {path: %s}
polling: {interval: 1s, timeout: 800ms, debounce: 2, grace: 0s}
devices:
  - {id: receipt-lane2, kind: receipt_printer, driver: escpos, address: 'tcp://%s', location: lane 2, criticality: high}
`, mqttURL, filepath.Join(t.TempDir(), "outbox.db"), srv.Addr))
	agent := testenv.Start(t, filepath.Join(bin, "storeagent"), "run", "--config", agentCfg)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("hub:\n%s\nagent:\n%s", hub.Output(), agent.Output())
		}
	})
	testenv.WaitFor(t, 30*time.Second, "the agent to report the printer healthy", func() bool {
		return strings.Contains(agent.Output(), "device=receipt-lane2 state=ok")
	})

	printer.Switchboard().Set(escpos.PaperOut, true)
	var open []hubIncident
	testenv.WaitFor(t, 30*time.Second, "a paper_out ticket", func() bool {
		open = incidents(t, api)
		return len(open) > 0
	})
	if len(open) != 1 {
		t.Fatalf("want exactly one ticket, got %+v", open)
	}
	tk := open[0]
	if tk.Device != "receipt-lane2" || tk.Ticket.Location != "lane 2" || tk.Ticket.Model == "" || tk.Ticket.Serial == "" {
		t.Errorf("ticket lacks what first-line support needs: %+v", tk)
	}

	printer.Switchboard().Set(escpos.PaperOut, false)
	testenv.WaitFor(t, 30*time.Second, "the ticket to resolve", func() bool {
		got := incidents(t, api)
		return len(got) == 1 && got[0].State == "resolved" && got[0].Resolution != ""
	})
	t.Logf("ticket: %+v", tk)
	if got := incidents(t, api); len(got) != 1 {
		t.Errorf("recovery opened more tickets: %+v", got)
	}
}
