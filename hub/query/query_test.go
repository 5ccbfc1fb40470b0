package query

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

var agent42 = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice-1"}

// directory is the engine's view, fixed for a test.
type directory struct {
	devices []incident.DeviceRecord
	agents  []incident.AgentRecord
	stores  []incident.StoreRecord
	err     error
}

// err, when set, is every look-up's error (a database away).
func (d *directory) StoreDevices(tenant, store string) ([]incident.DeviceRecord, error) {
	var out []incident.DeviceRecord
	for _, r := range d.devices {
		if r.Store == store && (tenant == "" || r.Tenant == tenant) {
			out = append(out, r)
		}
	}
	return out, d.err
}

func (d *directory) Agent(id wire.AgentID) (incident.AgentRecord, bool, error) {
	for _, a := range d.agents {
		if a.ID() == id {
			return a, d.err == nil, d.err
		}
	}
	return incident.AgentRecord{}, false, d.err
}

func (d *directory) Store(tenant, store string) (incident.StoreRecord, bool, error) {
	for _, r := range d.stores {
		if r.Tenant == tenant && r.Store == store {
			return r, d.err == nil, d.err
		}
	}
	return incident.StoreRecord{}, false, d.err
}

// fakeAgent stands in for the broker and storeagent: it decodes what the hub
// publishes, checks the signature with the hub's public key, and answers
// through Service.Answer as ingest would, unless told to stay silent.
type fakeAgent struct {
	t      *testing.T
	pub    ed25519.PublicKey
	svc    *Service
	silent bool
	result string
	holder *wire.Holder // answer device_busy, held by this

	mu   sync.Mutex
	reqs []*wire.CommandRequest
	got  chan *wire.CommandRequest
}

func (f *fakeAgent) publish(topic string, payload []byte) error {
	id, ch, err := wire.ParseTopic(topic)
	if err != nil || ch != wire.ChannelCmdReq {
		f.t.Errorf("published on %q", topic)
	}
	req, err := wire.Decode[wire.CommandRequest](payload)
	if err != nil {
		f.t.Fatalf("the hub published an invalid request: %v", err)
	}
	if req.AgentID != id {
		f.t.Errorf("request for %s published on %s", req.AgentID, topic)
	}
	if !ed25519.Verify(f.pub, req.SigningBytes(), req.Signature) {
		f.t.Errorf("request %s: signature does not verify with the public key", req.ID)
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	silent, result, holder := f.silent, f.result, f.holder
	f.mu.Unlock()
	if f.got != nil {
		f.got <- req
	}
	if holder != nil {
		f.svc.Answer(id, &wire.CommandResponse{Header: wire.Header{AgentID: id, Time: time.Now()}, ID: req.ID,
			Device: req.Device, Op: req.Op, Code: "device_busy", Error: "the device is busy; try again in a moment", Holder: holder}, time.Now())
		return nil
	}
	if !silent {
		f.svc.Answer(id, &wire.CommandResponse{Header: wire.Header{AgentID: id, Time: time.Now()}, ID: req.ID,
			Device: req.Device, Op: req.Op, OK: true, Result: json.RawMessage(result), Took: 12}, time.Now())
	}
	return nil
}

func (f *fakeAgent) set(silent bool, result string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.silent, f.result = silent, result
}

func (f *fakeAgent) sent() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.reqs)
}

type env struct {
	svc   *Service
	agent *fakeAgent
	dir   *directory
	st    *store.Bolt
	clk   *clock.Fake
}

func newEnv(t *testing.T, perMinute int) *env {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	key, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "signing_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := base64.StdEncoding.DecodeString(key.PublicKey())
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 42, 0, 0, time.UTC))
	dir := &directory{
		devices: []incident.DeviceRecord{
			{Tenant: "acme", Store: "s0042", Agent: "backoffice-1", ID: "receipt-1", Kind: "receipt_printer"},
			{Tenant: "acme", Store: "s0042", Agent: "backoffice-1", ID: "scale-1", Kind: "scale"},
			{Tenant: "acme", Store: "s0099", Agent: "a", ID: "receipt-1"},
			{Tenant: "beta", Store: "s0099", Agent: "a", ID: "receipt-1"},
		},
		agents: []incident.AgentRecord{{Tenant: "acme", Store: "s0042", Agent: "backoffice-1", Online: true}},
		stores: []incident.StoreRecord{{Tenant: "acme", Store: "s0042", Info: wire.StoreInfo{TimeZone: "Europe/Berlin"}}},
	}
	fa := &fakeAgent{t: t, pub: pub, result: `{"state":"ok","took_ms":12}`}
	svc := New(Options{Key: key, Directory: dir, Publish: fa.publish, Audit: st, Clock: clk, PerMinute: perMinute})
	fa.svc = svc
	return &env{svc: svc, agent: fa, dir: dir, st: st, clk: clk}
}

func (e *env) audit(t *testing.T) []store.AuditEntry {
	t.Helper()
	out, err := e.st.Audit(store.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func ask(op, device string) Request {
	return Request{Who: "jane", Store: "s0042", Device: device, Op: op}
}

func TestAnsweredQueryIsSignedAndAudited(t *testing.T) {
	e := newEnv(t, 6)
	a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1"))
	if !a.OK || a.Agent != "backoffice-1" || a.Tenant != "acme" || string(a.Result) != `{"state":"ok","took_ms":12}` || a.DeviceMS != 12 {
		t.Fatalf("answer = %+v", a)
	}
	req := e.agent.reqs[0]
	if req.Requester != "jane" || req.Device != "receipt-1" || req.Op != wire.OpStatus || !req.Expires.Equal(e.clk.Now().Add(30*time.Second)) {
		t.Errorf("request = %+v", req)
	}
	if !strings.HasPrefix(req.ID, "q-storehub-") || a.ID != req.ID {
		t.Errorf("request id %q, answer id %q", req.ID, a.ID)
	}
	log := e.audit(t)
	if len(log) != 2 || log[1].Event != store.AuditRequest || log[0].Event != store.AuditAnswer {
		t.Fatalf("audit = %+v", log)
	}
	for _, x := range log {
		if x.ID != req.ID || x.Who != "jane" || x.Agent != "backoffice-1" || x.Device != "receipt-1" || !x.OK {
			t.Errorf("audit entry = %+v", x)
		}
	}
}

// A busy answer keeps the agent's holder, for the console and the API.
func TestBusyAnswerCarriesTheHolder(t *testing.T) {
	e := newEnv(t, 6)
	e.agent.holder = &wire.Holder{Process: "POS.exe", PID: 4312}
	a := e.svc.Query(context.Background(), ask(wire.OpStatus, "scale-1"))
	if a.OK || a.Code != "device_busy" || a.Holder == nil || a.Holder.String() != "in use by POS.exe (pid 4312)" {
		t.Fatalf("answer = %+v", a)
	}
	b, _ := json.Marshal(a)
	if !strings.Contains(string(b), `"holder":{"process":"POS.exe","pid":4312}`) {
		t.Errorf("JSON %s lacks the holder", b)
	}
}

func TestOfflineAgentFailsFastInStoreTime(t *testing.T) {
	e := newEnv(t, 6)
	e.dir.agents[0].Online = false
	e.dir.agents[0].Since = time.Date(2026, 11, 24, 9, 42, 0, 0, time.UTC) // 10:42 in Berlin
	a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1"))
	if a.OK || a.Code != CodeOffline || a.Error != "agent backoffice-1 of store s0042 offline since 10:42 (Europe/Berlin)" {
		t.Fatalf("answer = %+v", a)
	}
	e.dir.agents[0].Since = time.Date(2026, 11, 23, 17, 5, 0, 0, time.UTC)
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")); !strings.HasSuffix(a.Error, "since 2026-11-23 18:05 (Europe/Berlin)") {
		t.Errorf("an earlier day: %q", a.Error)
	}
	if e.agent.sent() != 0 {
		t.Error("a request was published to an offline agent")
	}
	log := e.audit(t)
	if len(log) != 2 || log[0].Event != store.AuditRefused || log[0].Code != CodeOffline || log[0].Who != "jane" {
		t.Errorf("audit = %+v", log)
	}
}

func TestWhereTheDeviceIs(t *testing.T) {
	e := newEnv(t, 6)
	cases := []struct {
		r    Request
		code string
		msg  string
	}{
		{Request{Store: "s0001", Device: "x", Op: wire.OpStatus}, CodeUnknownStore, "no store s0001"},
		{Request{Store: "s0042", Device: "lane-9", Op: wire.OpStatus}, CodeUnknownDevice, "store s0042 has no device lane-9"},
		{Request{Store: "s0099", Device: "receipt-1", Op: wire.OpStatus}, CodeAmbiguous, "exists in tenants acme, beta"},
		{Request{Tenant: "beta", Store: "s0042", Device: "receipt-1", Op: wire.OpStatus}, CodeUnknownStore, "no store s0042"},
		{Request{Tenant: "beta", Store: "s0099", Device: "receipt-1", Op: wire.OpStatus}, CodeOffline, "agent a of store s0099 has not been seen online"},
		{Request{Store: "s0042", Device: "receipt-1", Op: "reboot"}, CodeBadRequest, `"reboot" is not one of`},
	}
	for _, c := range cases {
		a := e.svc.Query(context.Background(), c.r)
		if a.OK || a.Code != c.code || !strings.Contains(a.Error, c.msg) {
			t.Errorf("%+v: %s %q, want %s %q", c.r, a.Code, a.Error, c.code, c.msg)
		}
	}
	// A replica whose database cannot be read says so, rather than that
	// the store does not exist.
	e.dir.err = errors.New("the database system is starting up")
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")); a.Code != CodeUnavailable || !strings.Contains(a.Error, "starting up") {
		t.Errorf("with the directory away: %s %q", a.Code, a.Error)
	}
	if e.agent.sent() != 0 {
		t.Error("a request was published")
	}
}

func TestNoAnswerTimesOut(t *testing.T) {
	e := newEnv(t, 6)
	e.agent.silent = true
	done := make(chan Answer)
	go func() { done <- e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")) }()
	e.clk.WaitForTimers(1)
	e.clk.Advance(10 * time.Second)
	a := <-done
	if a.OK || a.Code != CodeNoAnswer || a.Error != "the agent did not answer in 10s" {
		t.Fatalf("answer = %+v", a)
	}
	// The answer that comes after the hub gave up is audited, not lost.
	req := e.agent.reqs[0]
	e.svc.Answer(agent42, &wire.CommandResponse{ID: req.ID, Device: req.Device, Op: req.Op, OK: true}, e.clk.Now())
	log := e.audit(t)
	if len(log) != 3 || log[2].Event != store.AuditRequest || log[1].Event != store.AuditTimeout || log[0].Event != store.AuditUnsolicited {
		t.Errorf("audit = %+v", log)
	}
}

func TestOneQueryPerDeviceAtATime(t *testing.T) {
	e := newEnv(t, 6)
	e.agent.silent = true
	e.agent.got = make(chan *wire.CommandRequest, 4)
	first := make(chan Answer)
	go func() { first <- e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")) }()
	req := <-e.agent.got

	a := e.svc.Query(context.Background(), Request{Who: "joe", Store: "s0042", Device: "receipt-1", Op: wire.OpIdentify})
	if a.Code != CodeBusy || !strings.Contains(a.Error, "another query of acme/s0042/receipt-1 is running (status by jane") {
		t.Errorf("second query: %+v", a)
	}
	// Another device, and the operations list, are not held up.
	e.agent.set(false, `{"state":"ok"}`)
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "scale-1")); !a.OK {
		t.Errorf("other device: %+v", a)
	}
	e.agent.set(false, `{"operations":["counters","identify","operations","status"]}`)
	if a := e.svc.Query(context.Background(), ask(wire.OpOperations, "receipt-1")); !a.OK {
		t.Errorf("operations: %+v", a)
	}
	e.svc.Answer(agent42, &wire.CommandResponse{ID: req.ID, Device: req.Device, Op: req.Op, OK: true}, e.clk.Now())
	if a := <-first; !a.OK {
		t.Errorf("first query: %+v", a)
	}
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")); !a.OK {
		t.Errorf("after the first finished: %+v", a)
	}
}

func TestRateLimitPerDevice(t *testing.T) {
	e := newEnv(t, 2)
	for i := 0; i < 2; i++ {
		if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")); !a.OK {
			t.Fatalf("query %d: %+v", i, a)
		}
		e.clk.Advance(10 * time.Second)
	}
	a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1"))
	if a.Code != CodeRateLimited || !strings.Contains(a.Error, "had 2 queries in the last minute") || !strings.Contains(a.Error, "try again in 40s") {
		t.Errorf("third query: %+v", a)
	}
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "scale-1")); !a.OK {
		t.Errorf("another device: %+v", a)
	}
	e.clk.Advance(40 * time.Second)
	if a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")); !a.OK {
		t.Errorf("a minute after the first: %+v", a)
	}
}

func TestAnswersAreMatchedStrictly(t *testing.T) {
	e := newEnv(t, 6)
	e.agent.silent = true
	e.agent.got = make(chan *wire.CommandRequest, 1)
	done := make(chan Answer)
	go func() { done <- e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1")) }()
	req := <-e.agent.got

	// Another agent that learnt the id, the wrong device, a stranger's id:
	// none is taken.
	other := wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "backoffice-1"}
	e.svc.Answer(other, &wire.CommandResponse{ID: req.ID, Device: req.Device, Op: req.Op, OK: true}, e.clk.Now())
	e.svc.Answer(agent42, &wire.CommandResponse{ID: req.ID, Device: "scale-1", Op: req.Op, OK: true}, e.clk.Now())
	e.svc.Answer(agent42, &wire.CommandResponse{ID: "q-storehub-000000", Device: "receipt-1", Op: "status", OK: false, Code: "replay", Error: "request q-storehub-000000 was already answered"}, e.clk.Now())
	select {
	case a := <-done:
		t.Fatalf("a mismatched answer was taken: %+v", a)
	default:
	}
	e.svc.Answer(agent42, &wire.CommandResponse{ID: req.ID, Device: req.Device, Op: req.Op, OK: false, Code: "timeout", Error: "device did not answer in 3s"}, e.clk.Now())
	a := <-done
	if a.OK || a.Code != "timeout" || a.Error != "device did not answer in 3s" {
		t.Errorf("answer = %+v", a)
	}
	log := e.audit(t)
	var events []string
	for i := len(log) - 1; i >= 0; i-- {
		events = append(events, log[i].Event+":"+log[i].Code)
	}
	want := "request: unsolicited: unsolicited: unsolicited:replay answer:timeout"
	if got := strings.Join(events, " "); got != want {
		t.Errorf("audit events %q, want %q", got, want)
	}
	if !strings.Contains(log[3].Error, "the answer names acme/s0043/backoffice-1") {
		t.Errorf("mismatch not explained: %q", log[3].Error)
	}
}

func TestGivingUpIsAudited(t *testing.T) {
	e := newEnv(t, 6)
	e.agent.silent = true
	ctx, cancel := context.WithCancel(context.Background())
	e.agent.got = make(chan *wire.CommandRequest, 1)
	go func() { <-e.agent.got; cancel() }()
	a := e.svc.Query(ctx, ask(wire.OpStatus, "receipt-1"))
	if a.Code != CodeCancelled {
		t.Fatalf("answer = %+v", a)
	}
	if log := e.audit(t); log[0].Event != store.AuditTimeout || log[0].Code != CodeCancelled {
		t.Errorf("audit = %+v", log[0])
	}
}

func TestBrokerDownIsAudited(t *testing.T) {
	e := newEnv(t, 6)
	e.svc.o.Publish = func(string, []byte) error { return context.DeadlineExceeded }
	a := e.svc.Query(context.Background(), ask(wire.OpStatus, "receipt-1"))
	if a.Code != CodeBroker || !strings.Contains(a.Error, "cannot reach the broker") {
		t.Fatalf("answer = %+v", a)
	}
	if log := e.audit(t); len(log) != 2 || log[0].Event != store.AuditRefused || log[1].Event != store.AuditRequest {
		t.Errorf("audit = %+v", log)
	}
}
