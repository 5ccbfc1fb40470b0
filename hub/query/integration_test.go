package query_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"slices"
	"syscall"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/agenttest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

const adminToken = "admin-token-for-query-tests"

var s42 = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}

// site is a hub, a real storeagent and emulated receipt printers.
type site struct {
	t        testing.TB
	hub      *hub.Hub
	api      string
	dataDir  string
	printers []*escpos.Printer
	printer  *escpos.Printer // the first, receipt-1
	agent    *agenttest.Agent
}

// siteOptions choose the broker and the number of printers.
type siteOptions struct {
	Embedded  bool // the hub's embedded broker instead of Mosquitto
	Printers  int  // receipt-1, receipt-2, ...; default 1
	PerMinute int  // the hub's per-device limit; default the hub's
}

// startSite runs the hub (in external-broker mode against a real Mosquitto
// configured by `storehub acl`, or with its embedded broker), ESC/POS
// printers emulated over TCP, and the storeagent binary with the hub's
// public key. It returns once the hub knows the agent is online and has its
// printers, and the broker URL.
func startSite(t testing.TB, o siteOptions) (*site, string) {
	t.Helper()
	if o.Printers == 0 {
		o.Printers = 1
	}
	agentHash, _ := broker.HashPassword("pw-42", 1000)
	s := &site{t: t, dataDir: t.TempDir()}
	var devices []agenttest.Device
	for i := range o.Printers {
		p := escpos.New()
		tcp, err := devsim.ServeTCP(context.Background(), p, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { tcp.Close() })
		s.printers = append(s.printers, p)
		devices = append(devices, agenttest.Device{ID: fmt.Sprintf("receipt-%d", i+1), Kind: "receipt_printer", Driver: "escpos",
			Address: "tcp://" + tcp.Addr, Location: fmt.Sprintf("lane %d", i+1)})
	}
	s.printer = s.printers[0]

	y := fmt.Sprintf("data_dir: %s\napi: {listen: \"127.0.0.1:0\", tokens: [{name: jane, role: admin, token: %s}]}\n", s.dataDir, adminToken)
	if o.PerMinute != 0 {
		y += fmt.Sprintf("remote: {per_minute: %d}\n", o.PerMinute)
	}
	var url string
	if o.Embedded {
		y += fmt.Sprintf("broker: {mode: embedded, embedded: {listen: \"127.0.0.1:0\"}}\nagents: [{tenant: acme, store: s0042, agent: backoffice-1, password_hash: \"%s\"}]\n", agentHash)
	} else {
		hubHash, _ := broker.HashPassword("hub-pw", 1000)
		access := broker.NewAccess([]broker.Agent{{Tenant: s42.Tenant, Store: s42.Store, Agent: s42.Agent, PasswordHash: agentHash}})
		url = brokertest.StartMosquitto(t, access.MosquittoACL("storehub"), access.PasswordFile()+"storehub:"+hubHash+"\n")
		y += fmt.Sprintf("broker: {mode: external, external: {urls: [\"%s\"], client_id: storehub-test, username: storehub, password: hub-pw}}\n", url)
	}
	cfg, err := hub.ParseConfig("hub.yaml", []byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	s.hub, err = hub.Start(context.Background(), cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.hub.Close() })
	s.api = "http://" + s.hub.APIAddr()
	if o.Embedded {
		url = "tcp://" + s.hub.MQTTAddrs()[0]
	}

	s.agent = agenttest.Start(t, agenttest.Build(t), agenttest.Config{ID: s42, BrokerURL: url, User: "acme-s0042-backoffice-1", Password: "pw-42",
		HubPublicKey: s.hub.Query.PublicKey(), Devices: devices, Interval: 30 * time.Second})
	testenv.WaitFor(t, 30*time.Second, "the hub to see the agent online with its printers", func() bool { return s.online(true, o.Printers) })
	return s, url
}

func (s *site) online(want bool, printers int) bool {
	for _, a := range s.hub.Engine.Agents() {
		if a.ID() == s42 && a.Online == want {
			return len(s.hub.Engine.Devices()) == printers
		}
	}
	return false
}

// ask runs `POST .../query` for receipt-1 as the admin.
func (s *site) ask(op string) (int, query.Answer) { return s.askDevice("receipt-1", op) }

func (s *site) askDevice(device, op string) (int, query.Answer) {
	s.t.Helper()
	body, _ := json.Marshal(query.Body{Op: op})
	req, _ := http.NewRequest("POST", s.api+"/api/v1/stores/s0042/devices/"+device+"/query", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	var a query.Answer
	if err := json.NewDecoder(resp.Body).Decode(&a); err != nil {
		s.t.Fatal(err)
	}
	return resp.StatusCode, a
}

func (s *site) audit() []store.AuditEntry {
	s.t.Helper()
	req, _ := http.NewRequest("GET", s.api+"/api/v1/audit", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out []store.AuditEntry
	if err := json.Unmarshal(b, &out); err != nil {
		s.t.Fatalf("audit: %v: %s", err, b)
	}
	return out
}

func result[T any](t *testing.T, a query.Answer) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(a.Result, &v); err != nil {
		t.Fatalf("result %s: %v", a.Result, err)
	}
	return v
}

// An engineer asks an emulated printer for its live status and identity
// through a real Mosquitto and the real agent; requests someone else
// tampered with, signed too long ago, or replayed are refused by the agent
// and audited at both ends; a query to an agent that went offline fails at
// once with since when.
func TestQueryThroughMosquittoAndTheRealAgent(t *testing.T) {
	s, url := startSite(t, siteOptions{})

	code, a := s.ask(wire.OpStatus)
	type status struct {
		State    wire.HealthState `json:"state"`
		Faults   []wire.Fault     `json:"faults"`
		Identity *wire.Identity   `json:"identity"`
	}
	if code != 200 || !a.OK || a.Agent != "backoffice-1" || result[status](t, a).State != wire.StateOK {
		t.Fatalf("status: HTTP %d %+v %s", code, a, a.Result)
	}
	code, a = s.ask(wire.OpIdentify)
	if id := result[wire.Identity](t, a); code != 200 || id.Vendor != "EPSON" || id.Model != "TM-T88V" || id.Serial != "X5E1234567" || id.Firmware != "1.28" {
		t.Errorf("identify: HTTP %d %+v", code, id)
	}
	code, a = s.ask(wire.OpOperations)
	if ops := result[map[string][]string](t, a)["operations"]; code != 200 || !slices.Equal(ops, []string{"counters", "identify", "operations", "status"}) {
		t.Errorf("operations: HTTP %d %v", code, ops)
	}

	// Live: the paper runs out, and the next query says so at once.
	s.printer.Switchboard().Set(escpos.PaperOut, true)
	code, a = s.ask(wire.OpStatus)
	st := result[status](t, a)
	if code != 200 || st.State != wire.StateFault || len(st.Faults) == 0 || st.Faults[0].Code != wire.FaultPaperOut {
		t.Errorf("status with the paper out: HTTP %d %+v", code, st)
	}

	// Someone who can write to the broker (here: with the hub's MQTT
	// login) but has no signing key.
	spy, err := brokertest.Dial(t, url, brokertest.Options{User: "storehub", Password: "hub-pw"})
	if err != nil {
		t.Fatal(err)
	}
	seen := make(chan []byte, 4)
	if tok := spy.Subscribe(s42.Topic(wire.ChannelCmdReq), 1, func(_ paho.Client, m paho.Message) { seen <- m.Payload() }); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	if code, _ := s.ask(wire.OpCounters); code != 200 {
		t.Errorf("counters: HTTP %d", code)
	}
	var captured []byte
	select {
	case captured = <-seen:
	case <-time.After(10 * time.Second):
		t.Fatal("the spy saw no request")
	}
	send := func(payload []byte) {
		t.Helper()
		if tok := spy.Publish(s42.Topic(wire.ChannelCmdReq), 1, false, payload); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
	// Replayed as captured.
	send(captured)
	// Tampered: another operation under the captured signature.
	req, err := wire.Decode[wire.CommandRequest](captured)
	if err != nil {
		t.Fatal(err)
	}
	req.ID, req.Op = req.ID+"-x", wire.OpIdentify
	tampered, _ := wire.Encode(req)
	send(tampered)
	// Expired: properly signed with the hub's key, but an hour late.
	key, err := query.LoadKey(filepath.Join(s.dataDir, "signing_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	old := &wire.CommandRequest{Header: wire.Header{AgentID: s42, Time: time.Now().Add(-time.Hour).UTC()},
		ID: "q-storehub-test-old", Device: "receipt-1", Op: wire.OpStatus, Requester: "jane", Expires: time.Now().Add(-time.Hour + 30*time.Second).UTC()}
	old.Signature = key.Sign(old.SigningBytes())
	expired, _ := wire.Encode(old)
	send(expired)

	refusals := []string{"replay", "bad_signature", "expired"}
	t.Cleanup(func() {
		if t.Failed() {
			for _, e := range s.audit() {
				t.Logf("hub audit: %+v", e)
			}
		}
	})
	testenv.WaitFor(t, 20*time.Second, "the hub to audit the three refusals", func() bool {
		var codes []string
		for _, e := range s.audit() {
			if e.Event == store.AuditUnsolicited {
				codes = append(codes, e.Code)
			}
		}
		return containsAll(codes, refusals)
	})
	var agentCodes []string
	for _, e := range s.agent.Audit(t) {
		agentCodes = append(agentCodes, e.Code)
	}
	if !containsAll(agentCodes, refusals) {
		t.Errorf("the agent audited %v, want %v among them", agentCodes, refusals)
	}
	if n := len(s.agent.Audit(t)); n != 8 {
		t.Errorf("the agent audited %d requests, want 8 (5 answered, 3 refused)", n)
	}
	// The hub's own requests and answers are there too, with who asked.
	var answered int
	for _, e := range s.audit() {
		if e.Event == store.AuditAnswer && e.Who == "jane" && e.OK {
			answered++
		}
	}
	if answered != 5 {
		t.Errorf("%d answered queries audited, want 5", answered)
	}

	// The agent stops (its goodbye marks it offline): the next query fails
	// at once, saying since when in the store's time.
	s.agent.Proc.Signal(syscall.SIGTERM)
	if err := s.agent.Proc.Wait(15 * time.Second); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 20*time.Second, "the hub to see the agent offline", func() bool { return s.online(false, 1) })
	code, a = s.ask(wire.OpStatus)
	if code != http.StatusServiceUnavailable || a.Code != query.CodeOffline ||
		!regexp.MustCompile(`^agent backoffice-1 of store s0042 offline since \d\d:\d\d \(Europe/Berlin\)$`).MatchString(a.Error) {
		t.Errorf("offline: HTTP %d %+v", code, a)
	}
	if last := s.audit()[0]; last.Event != store.AuditRefused || last.Code != query.CodeOffline || last.Who != "jane" {
		t.Errorf("the refusal is not audited: %+v", last)
	}
}

func containsAll(have, want []string) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}
