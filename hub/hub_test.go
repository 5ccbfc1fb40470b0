package hub

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

const token = "engineer-token-for-tests"

var (
	s42 = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}
	s43 = wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "backoffice"}
)

func zero() *time.Duration { d := time.Duration(0); return &d }

// startHub runs `storehub serve` in-process on loopback ports. paper_out
// opens and resolves without waiting, so the test runs on real time without
// sleeping for hold-downs.
func startHub(t *testing.T) *Hub {
	t.Helper()
	hash, err := broker.HashPassword("pw-42", 1000)
	if err != nil {
		t.Fatal(err)
	}
	hash43, _ := broker.HashPassword("pw-43", 1000)
	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents:
  - {tenant: acme, store: s0042, agent: backoffice, password_hash: "%s"}
  - {tenant: acme, store: s0043, agent: backoffice, password_hash: "%s"}
policy: {rules: {paper_out: {hold_down: 0s, hold_up: 0s}}}
`, t.TempDir(), token, hash, hash43)
	return startYAML(t, y)
}

// startYAML runs a hub configured by y until the test ends.
func startYAML(t *testing.T, y string) *Hub {
	t.Helper()
	cfg, err := ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := h.Close(); err != nil {
			t.Error(err)
		}
	})
	return h
}

// simAgent is a stand-in for storeagent's uplink: paho, real wire messages.
type simAgent struct {
	t    *testing.T
	id   wire.AgentID
	c    paho.Client
	seq  uint64
	boot string
}

func dial(t *testing.T, h *Hub, user, pw string, id wire.AgentID) (*simAgent, error) {
	t.Helper()
	return dialURL(t, "tcp://"+h.MQTTAddrs()[0], user, pw, id)
}

func dialURL(t *testing.T, url, user, pw string, id wire.AgentID) (*simAgent, error) {
	t.Helper()
	a := &simAgent{t: t, id: id, boot: fmt.Sprintf("boot-%d", time.Now().UnixNano())}
	will, _ := wire.Encode(&wire.Status{Header: wire.Header{AgentID: id, Boot: a.boot, Time: time.Now()}, State: wire.PresenceOffline})
	c, err := brokertest.Dial(t, url, brokertest.Options{User: user, Password: pw, WillTopic: id.Topic(wire.ChannelStatus), WillPayload: will})
	if err != nil {
		return nil, err
	}
	a.c = c
	return a, nil
}

func (a *simAgent) send(ch wire.Channel, m wire.Message, retain bool) error {
	b, err := wire.Encode(m)
	if err != nil {
		a.t.Fatal(err)
	}
	return a.raw(a.id.Topic(ch), b, retain)
}

func (a *simAgent) raw(topic string, b []byte, retain bool) error {
	tok := a.c.Publish(topic, 1, retain, b)
	if !tok.WaitTimeout(10 * time.Second) {
		return fmt.Errorf("publish %s: no PUBACK", topic)
	}
	return tok.Error()
}

func (a *simAgent) header(seq uint64) wire.Header {
	return wire.Header{AgentID: a.id, Boot: a.boot, Seq: seq, Time: time.Now().UTC()}
}

func (a *simAgent) event(dev string, codes ...wire.FaultCode) error {
	a.seq++
	ev := &wire.Event{Header: a.header(a.seq), Device: dev, Kind: "receipt_printer", Since: time.Now().UTC()}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, "DLE EOT 4 = 0x72"))
	}
	ev.State = wire.StateOf(ev.Faults)
	return a.send(wire.ChannelEvents, ev, false)
}

func get(t *testing.T, h *Hub, path string, out any) int {
	t.Helper()
	req, _ := http.NewRequest("GET", "http://"+h.APIAddr()+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if s, ok := out.(*string); ok {
		b, _ := io.ReadAll(resp.Body)
		*s = string(b)
	} else if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatal(err)
		}
	}
	return resp.StatusCode
}

func incidents(t *testing.T, h *Hub, query string) []incident.Incident {
	var out []incident.Incident
	if code := get(t, h, "/api/v1/incidents"+query, &out); code != 200 {
		t.Fatalf("incidents: HTTP %d", code)
	}
	return out
}

func TestServeTurnsAFaultIntoATicketAndRecoveryResolvesIt(t *testing.T) {
	h := startHub(t)
	a, err := dial(t, h, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(a.send(wire.ChannelStatus, &wire.Status{Header: a.header(0), State: wire.PresenceOnline, Version: "0.1.0"}, true))
	must(a.send(wire.ChannelInventory, &wire.Inventory{Header: a.header(0), StoreInfo: wire.StoreInfo{Name: "Acme Berlin Mitte", TimeZone: "Europe/Berlin"},
		Devices: []wire.DeviceInfo{{ID: "receipt-lane3", Kind: "receipt_printer", Driver: "escpos", Location: "lane 3",
			Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E1234567"}}}}, true))
	must(a.event("receipt-lane3", wire.FaultPaperOut))

	var inc incident.Incident
	testenv.WaitFor(t, 10*time.Second, "a ticket for the paper-out printer", func() bool {
		got := incidents(t, h, "?store=s0042&fault=paper_out")
		if len(got) == 1 {
			inc = got[0]
		}
		return len(got) == 1
	})
	if inc.Facts.Model != "TM-T88VI" || inc.Facts.Serial != "X5E1234567" || inc.Facts.Location != "lane 3" || inc.State != incident.StateOpen {
		t.Errorf("ticket: %+v", inc)
	}
	must(a.event("receipt-lane3"))
	testenv.WaitFor(t, 10*time.Second, "recovery to resolve the ticket", func() bool {
		var d api.Detail
		get(t, h, "/api/v1/incidents/"+inc.ID, &d)
		return d.Incident.State == incident.StateResolved && d.Incident.Resolution == incident.ResolutionRecovered
	})
	var agents []api.AgentView
	get(t, h, "/api/v1/agents", &agents)
	if len(agents) != 1 || !agents[0].Online || agents[0].Boot != a.boot || agents[0].Version != "0.1.0" {
		t.Errorf("agents: %+v", agents)
	}
	if n := len(incidents(t, h, "")); n != 1 {
		t.Errorf("%d incidents in all, want 1", n)
	}
}

func TestServeRefusesWrongPasswordForeignSubtreeAndForeignIdentity(t *testing.T) {
	h := startHub(t)
	if _, err := dial(t, h, "acme-s0042-backoffice", "wrong", s42); err == nil {
		t.Error("a wrong password was accepted")
	}

	// Publishing into another store's subtree: the broker drops the agent
	// and nothing reaches the hub.
	a, err := dial(t, h, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	spoof := &simAgent{t: t, id: s43, c: a.c, boot: a.boot}
	_ = spoof.event("receipt-1", wire.FaultPaperOut)
	testenv.WaitFor(t, 10*time.Second, "the broker to drop the agent", func() bool { return !a.c.IsConnectionOpen() })

	// A payload claiming another store, on the agent's own topic: accepted
	// by the broker (right subtree), rejected and counted by the hub.
	b, err := dial(t, h, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	ev := &wire.Event{Header: wire.Header{AgentID: s43, Boot: "x", Seq: 1, Time: time.Now().UTC()}, Device: "receipt-1",
		State: wire.StateFault, Faults: []wire.Fault{wire.NewFault(wire.FaultPaperOut, "")}, Since: time.Now().UTC()}
	payload, _ := wire.Encode(ev)
	if err := b.raw(s42.Topic(wire.ChannelEvents), payload, false); err != nil {
		t.Fatal(err)
	}
	var rejected []ingest.Rejected
	get(t, h, "/api/v1/rejected", &rejected)
	if len(rejected) != 1 || rejected[0].Reason != "identity_mismatch" {
		t.Fatalf("rejected: %+v", rejected)
	}
	var metrics string
	get(t, h, "/metrics", &metrics)
	for _, want := range []string{
		`storehub_rejected_messages_total{reason="identity_mismatch"} 1`,
		`storehub_broker_auth_failures_total 1`,
		`storehub_broker_acl_denied_total{action="publish"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	var devs []incident.DeviceRecord
	get(t, h, "/api/v1/devices", &devs)
	if len(devs) != 0 || len(incidents(t, h, "")) != 0 {
		t.Errorf("a refused message reached the engine: %+v", devs)
	}
}

func TestServeRestartsFromItsDataDir(t *testing.T) { restartsFromItsStore(t, "") }

// The same on PostgreSQL (store: type postgres).
func TestServeRestartsFromPostgres(t *testing.T) {
	restartsFromItsStore(t, "store:\n  type: postgres\n  dsn: "+migratedDB(t)+"\n")
}

// restartsFromItsStore runs a hub whose configuration ends with storeYAML
// (none: the bbolt default), restarts it and checks that it carries on.
func restartsFromItsStore(t *testing.T, storeYAML string) {
	hash, _ := broker.HashPassword("pw-42", 1000)
	y := fmt.Sprintf(`
data_dir: %s
api: {listen: "127.0.0.1:0", tokens: [{name: jane, role: admin, token: %s}]}
broker: {mode: embedded, embedded: {listen: "127.0.0.1:0"}}
agents: [{tenant: acme, store: s0042, agent: backoffice, password_hash: "%s"}]
policy: {rules: {pt_hardware_fault: {hold_down: 0s, hold_up: 0s}}}
`, t.TempDir(), token, hash) + storeYAML
	cfg, err := ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	h, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := dial(t, h, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.send(wire.ChannelStatus, &wire.Status{Header: a.header(0), State: wire.PresenceOnline}, true); err != nil {
		t.Fatal(err)
	}
	if err := a.event("pt-1", wire.FaultPTHardware); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the ticket", func() bool { return len(incidents(t, h, "?state=open")) == 1 })
	before := incidents(t, h, "")[0]
	a.c.Disconnect(100)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h2, err := Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer h2.Close()
	after := incidents(t, h2, "?state=open")
	if len(after) != 1 || after[0].ID != before.ID {
		t.Fatalf("after a restart: %+v, want %s open", after, before.ID)
	}
	// The agent reconnects and replays its last event: a duplicate, no new
	// ticket; then the fault clears and the open ticket is commented, not
	// duplicated.
	a2, err := dial(t, h2, "acme-s0042-backoffice", "pw-42", s42)
	if err != nil {
		t.Fatal(err)
	}
	a2.boot, a2.seq = a.boot, a.seq-1
	if err := a2.event("pt-1", wire.FaultPTHardware); err != nil {
		t.Fatal(err)
	}
	if err := a2.event("pt-1"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "the recovery comment", func() bool {
		var d api.Detail
		get(t, h2, "/api/v1/incidents/"+before.ID, &d)
		return !d.Incident.RecoveredAt.IsZero()
	})
	if n := len(incidents(t, h2, "")); n != 1 {
		t.Errorf("%d incidents after restart and replay, want 1", n)
	}
	var agents []api.AgentView
	get(t, h2, "/api/v1/agents", &agents)
	if len(agents) != 1 || agents[0].Seq.Duplicates != 1 {
		t.Errorf("the replayed event should count as a duplicate across the restart: %+v", agents)
	}
}
