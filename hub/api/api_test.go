package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

func TestOpenAPIDocumentMatchesTheRoutes(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]struct {
			Role       string `json:"x-role"`
			Parameters []struct {
				Name string `json:"name"`
				In   string `json:"in"`
			} `json:"parameters"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(openapi, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	roles := map[Role]string{0: "", Viewer: "viewer", Engineer: "engineer", Admin: "admin"}
	seen := map[string]bool{}
	for _, rt := range routes {
		op, ok := doc.Paths[rt.path][strings.ToLower(rt.method)]
		if !ok {
			t.Errorf("%s %s is served but not documented", rt.method, rt.path)
			continue
		}
		seen[rt.method+" "+rt.path] = true
		if op.Role != roles[rt.role] {
			t.Errorf("%s %s: documented role %q, served with %q", rt.method, rt.path, op.Role, roles[rt.role])
		}
		var query []string
		for _, p := range op.Parameters {
			if p.In == "query" {
				query = append(query, p.Name)
			}
		}
		want := slices.Clone(rt.params)
		slices.Sort(query)
		slices.Sort(want)
		if !slices.Equal(query, want) {
			t.Errorf("%s %s: documented query %v, accepted %v", rt.method, rt.path, query, want)
		}
	}
	for path, ops := range doc.Paths {
		for m := range ops {
			if !seen[strings.ToUpper(m)+" "+path] {
				t.Errorf("%s %s is documented but not served", strings.ToUpper(m), path)
			}
		}
	}
}

const (
	viewerToken   = "viewer-token-000000001"
	engineerToken = "engineer-token-0000001"
	adminToken    = "admin-token-0000000001"
)

type env struct {
	t    *testing.T
	srv  *httptest.Server
	eng  *incident.Engine
	pipe *ingest.Pipeline
	st   *store.Bolt
	clk  *clock.Fake
	seq  uint64
}

var agent = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}

func newEnv(t *testing.T) *env { return newEnvWith(t, false) }

// newEnvWithAudit serves the store's audit trail too.
func newEnvWithAudit(t *testing.T) *env { return newEnvWith(t, true) }

func newEnvWith(t *testing.T, audit bool, opts ...func(*Options)) *env {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
	reg := prometheus.NewRegistry()
	pipe := ingest.New(ingest.Options{Engine: eng, Store: st, Clock: clk, Metrics: ingest.NewMetrics(reg)})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { pipe.Run(ctx); close(done) }()
	o := Options{Engine: eng, Pipeline: pipe, Store: st, Clock: clk, Registry: reg, Tokens: []Token{
		{Name: "wall", Role: "viewer", Token: viewerToken},
		{Name: "jane", Role: "engineer", Token: engineerToken},
		{Name: "ops", Role: "admin", TokenSHA256: hexSHA(adminToken)},
	}}
	if audit {
		o.Audit = st
	}
	for _, f := range opts {
		f(&o)
	}
	s, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() { srv.Close(); cancel(); <-done; st.Close() })
	return &env{t: t, srv: srv, eng: eng, pipe: pipe, st: st, clk: clk}
}

func (e *env) call(method, path, token string, body any, out any) int {
	e.t.Helper()
	code, _ := e.callWith(method, path, token, nil, body, out)
	return code
}

// callWith sends extra headers too, and returns the answer's headers.
func (e *env) callWith(method, path, token string, header http.Header, body any, out any) (int, http.Header) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.srv.URL+path, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil && resp.StatusCode < 300 {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			e.t.Fatalf("%s %s: %v", method, path, err)
		}
	}
	return resp.StatusCode, resp.Header
}

func (e *env) publish(ch wire.Channel, m wire.Message) {
	e.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		e.t.Fatal(err)
	}
	if err := e.pipe.Handle(context.Background(), agent.Topic(ch), b, "test"); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) fault(dev string, codes ...wire.FaultCode) {
	e.seq++
	ev := &wire.Event{Header: wire.Header{AgentID: agent, Boot: "b1", Seq: e.seq, Time: e.clk.Now()}, Device: dev, Since: e.clk.Now()}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
	}
	ev.State = wire.StateOf(ev.Faults)
	e.publish(wire.ChannelEvents, ev)
}

func (e *env) advance(d time.Duration) {
	e.clk.Advance(d)
	_ = e.pipe.Do(context.Background(), func(*incident.Engine) (incident.Changes, error) { return incident.Changes{}, nil })
}

func TestRolesAndTokens(t *testing.T) {
	e := newEnv(t)
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/openapi.json", "", 200},
		{"GET", "/api/v1/incidents", "", 401},
		{"GET", "/api/v1/incidents", "wrong-token", 401},
		{"GET", "/api/v1/incidents", viewerToken, 200},
		{"POST", "/api/v1/maintenance", viewerToken, 403},
		{"GET", "/api/v1/rejected", engineerToken, 403},
		{"GET", "/api/v1/rejected", adminToken, 200},
		{"GET", "/api/v1/incidents?stat=open", viewerToken, 400},
		{"GET", "/api/v1/incidents?priority=P9", viewerToken, 400},
		{"GET", "/api/v1/nothing", viewerToken, 404},
		{"GET", "/console/", "", 501},
		{"GET", "/metrics", "", 200},
		{"GET", "/debug/pprof/", "", 401},
		{"GET", "/debug/pprof/heap", engineerToken, 403},
		{"GET", "/debug/pprof/heap", adminToken, 200},
		{"GET", "/debug/pprof/goroutine?debug=1", adminToken, 200},
	} {
		if got := e.call(c.method, c.path, c.token, nil, nil); got != c.want {
			t.Errorf("%s %s with %q: %d, want %d", c.method, c.path, c.token, got, c.want)
		}
	}
}

func TestIncidentLifecycleThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	e.publish(wire.ChannelStatus, &wire.Status{Header: wire.Header{AgentID: agent, Boot: "b1", Time: e.clk.Now()}, State: "online"})
	e.publish(wire.ChannelInventory, &wire.Inventory{Header: wire.Header{AgentID: agent, Time: e.clk.Now()},
		StoreInfo: wire.StoreInfo{Name: "Acme Mitte", TimeZone: "Europe/Berlin"},
		Devices:   []wire.DeviceInfo{{ID: "pt-1", Kind: "payment_terminal", Location: "lane 1", Identity: &wire.Identity{Model: "Lane/3000", Serial: "PT1"}}}})
	e.fault("pt-1", wire.FaultPTHardware)
	e.advance(time.Second)

	var list []incident.Incident
	if e.call("GET", "/api/v1/incidents?state=open&model=Lane/3000&fault=pt_hardware_fault&since=1h", viewerToken, nil, &list) != 200 || len(list) != 1 {
		t.Fatalf("incidents: %+v", list)
	}
	id := list[0].ID
	if list[0].Facts.Serial != "PT1" || list[0].Facts.Location != "lane 1" {
		t.Errorf("ticket fields: %+v", list[0].Facts)
	}
	var d Detail
	if e.call("POST", "/api/v1/incidents/"+id+"/acknowledge", engineerToken, nil, &d) != 200 || d.Incident.State != incident.StateAcknowledged {
		t.Fatalf("acknowledge: %+v", d.Incident)
	}
	if e.call("POST", "/api/v1/incidents/"+id+"/comments", engineerToken, TextRequest{"technician booked"}, &d) != 200 {
		t.Fatal("comment")
	}
	if e.call("POST", "/api/v1/incidents/"+id+"/comments", engineerToken, map[string]string{"txt": "typo"}, nil) != 400 {
		t.Error("a body with an unknown field was accepted")
	}
	if e.call("POST", "/api/v1/incidents/"+id+"/close", engineerToken, TextRequest{"card reader replaced"}, &d) != 200 || d.Incident.State != incident.StateClosed {
		t.Fatalf("close: %+v", d.Incident)
	}
	authors := map[string]bool{}
	for _, en := range d.Timeline {
		authors[en.Author+":"+string(en.Kind)] = true
	}
	for _, want := range []string{"storehub:opened", "jane:state", "jane:comment", "storehub:notification"} {
		if !authors[want] {
			t.Errorf("timeline lacks %s: %+v", want, d.Timeline)
		}
	}
	if e.call("POST", "/api/v1/incidents/"+id+"/close", engineerToken, nil, nil) != 409 {
		t.Error("closing a closed incident is not a conflict")
	}
	if e.call("POST", "/api/v1/incidents/INC-999999/acknowledge", engineerToken, nil, nil) != 404 {
		t.Error("unknown incident is not 404")
	}
	if e.call("POST", "/api/v1/incidents/"+id+"/comments", engineerToken, TextRequest{"follow-up after close"}, &d) != 200 ||
		d.Timeline[len(d.Timeline)-1].Text != "follow-up after close" {
		t.Error("a comment on a closed incident did not reach its timeline")
	}
	var ns []incident.Notification
	if e.call("GET", "/api/v1/notifications?after=0", adminToken, nil, &ns) != 200 || len(ns) < 3 || ns[0].Kind != incident.NotifyOpened {
		t.Errorf("notification stream: %+v", ns)
	}
	var devs []incident.DeviceRecord
	if e.call("GET", "/api/v1/devices?state=fault", viewerToken, nil, &devs) != 200 || len(devs) != 1 {
		t.Errorf("devices in fault: %+v", devs)
	}
	var agents []AgentView
	if e.call("GET", "/api/v1/agents?online=true", viewerToken, nil, &agents) != 200 || len(agents) != 1 || agents[0].Boot != "b1" {
		t.Errorf("agents: %+v", agents)
	}
	var log []incident.LogEntry
	if e.call("GET", "/api/v1/log?from=1h", viewerToken, nil, &log) != 200 || len(log) == 0 {
		t.Errorf("event log: %+v", log)
	}
}

func TestMaintenanceWindowsThroughTheAPI(t *testing.T) {
	e := newEnv(t)
	var w incident.Window
	if code := e.call("POST", "/api/v1/maintenance", engineerToken, WindowRequest{Tenant: "acme", Store: "s0042", Duration: "2h", Reason: "swap"}, &w); code != 201 {
		t.Fatalf("create: %d", code)
	}
	if w.ID == "" || w.CreatedBy != "jane" || w.End.Sub(w.Start) != 2*time.Hour {
		t.Errorf("window %+v", w)
	}
	e.fault("printer-1", wire.FaultPTHardware)
	e.advance(time.Minute)
	var list []incident.Incident
	e.call("GET", "/api/v1/incidents", viewerToken, nil, &list)
	if len(list) != 0 {
		t.Errorf("an incident opened during maintenance: %+v", list)
	}
	var ws []incident.Window
	if e.call("GET", "/api/v1/maintenance?store=s0042", viewerToken, nil, &ws) != 200 || len(ws) != 1 {
		t.Fatalf("list: %+v", ws)
	}
	if e.call("DELETE", "/api/v1/maintenance/"+w.ID, engineerToken, nil, nil) != 204 {
		t.Fatal("delete")
	}
	if e.call("DELETE", "/api/v1/maintenance/"+w.ID, engineerToken, nil, nil) != 404 {
		t.Error("deleting twice is not 404")
	}
	if e.call("POST", "/api/v1/maintenance", engineerToken, WindowRequest{Tenant: "acme", Store: "s0042"}, nil) != 400 {
		t.Error("a window without end or duration was accepted")
	}
}

func TestRejectedMessagesAreVisible(t *testing.T) {
	e := newEnv(t)
	if err := e.pipe.Handle(context.Background(), agent.Topic(wire.ChannelEvents), []byte("{garbage"), "agent-x"); err != nil {
		t.Fatal(err)
	}
	var rs []ingest.Rejected
	if e.call("GET", "/api/v1/rejected", adminToken, nil, &rs) != 200 || len(rs) != 1 || rs[0].Reason != "malformed" || rs[0].Payload != "{garbage" {
		t.Errorf("rejected: %+v", rs)
	}
}

func FuzzParseIncidentFilter(f *testing.F) {
	for _, s := range []string{"state=open&priority=P1", "since=24h&until=2026-11-24T08:00:00Z", "since=7d", "fault=paper_out&limit=10", "store=s%20x", "kind=chronic&model=TM-T88VI"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		fl, err := ParseIncidentFilter(q, now)
		if err != nil {
			return
		}
		if fl.Priority < 0 || fl.Priority > 5 || fl.Limit < 0 || fl.Limit > MaxLimit {
			t.Fatalf("out of range filter accepted: %+v", fl)
		}
		if !fl.Since.IsZero() && !fl.Until.IsZero() && !fl.Until.After(fl.Since) {
			t.Fatalf("empty range accepted: %+v", fl)
		}
		if _, _, _, err := ParseLogRange(q, now); err == nil {
			return
		}
	})
}

func FuzzParseWindow(f *testing.F) {
	f.Add(`{"tenant":"acme","store":"s1","duration":"2h"}`)
	f.Add(`{"tenant":"acme","store":"s1","device":"pt-1","start":"2026-11-24T08:00:00Z","end":"2026-11-24T10:00:00Z","reason":"swap"}`)
	f.Add(`{"text":"x"}`)
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body string) {
		w, err := ParseWindow([]byte(body), now, "fuzz")
		if err == nil && (!w.End.After(w.Start) || w.End.Sub(w.Start) > MaxWindow || w.Tenant == "" || w.Store == "") {
			t.Fatalf("bad window accepted: %+v", w)
		}
		_, _ = ParseText([]byte(body), true)
	})
}

func FuzzParseTime(f *testing.F) {
	for _, s := range []string{"24h", "7d", "2026-11-24T08:00:00Z", "-5m", "99999999d", "1e9h"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseTime(s, now)
		if err == nil && strings.TrimSpace(s) != "" && got.After(now) && !strings.Contains(s, "T") {
			t.Fatalf("a relative time %q lies in the future: %v", s, got)
		}
	})
}

// byStore is a directory that reads one store by key, as a replica's does:
// it counts its full listings and can fail as a database away does.
type byStore struct {
	Directory
	listings int
	err      error
}

func (d *byStore) Devices() []incident.DeviceRecord {
	d.listings++
	return d.Directory.Devices()
}

func (d *byStore) StoreDevices(tenant, store string) ([]incident.DeviceRecord, error) {
	if d.err != nil {
		return nil, d.err
	}
	var out []incident.DeviceRecord
	for _, r := range d.Directory.Devices() {
		if r.Store == store && (tenant == "" || r.Tenant == tenant) {
			out = append(out, r)
		}
	}
	return out, nil
}

// The devices of one store are read by store where the directory can,
// never through the fleet's listing, with the other filters on top.
func TestDevicesOfOneStoreAreReadByStore(t *testing.T) {
	var dir *byStore
	e := newEnvWith(t, false, func(o *Options) { dir = &byStore{Directory: o.Engine}; o.Directory = dir })
	e.publish(wire.ChannelInventory, &wire.Inventory{Header: wire.Header{AgentID: agent, Time: e.clk.Now()},
		Devices: []wire.DeviceInfo{{ID: "pt-1", Kind: "payment_terminal"}, {ID: "prn-1", Kind: "receipt_printer"}}})
	e.advance(time.Second)
	var got []incident.DeviceRecord
	if code := e.call("GET", "/api/v1/devices?store="+agent.Store+"&kind=payment_terminal", viewerToken, nil, &got); code != 200 || len(got) != 1 || got[0].ID != "pt-1" {
		t.Errorf("devices of the store: %d %+v", code, got)
	}
	if dir.listings != 0 {
		t.Errorf("the fleet's listing was read %d times for one store", dir.listings)
	}
	if code := e.call("GET", "/api/v1/devices?kind=receipt_printer", viewerToken, nil, &got); code != 200 || len(got) != 1 || dir.listings != 1 {
		t.Errorf("devices of every store: %d %+v, %d listings", code, got, dir.listings)
	}
	dir.err = errors.New("the database system is starting up")
	if code := e.call("GET", "/api/v1/devices?store="+agent.Store, viewerToken, nil, nil); code != 503 {
		t.Errorf("with the database away: %d, want 503", code)
	}
}
