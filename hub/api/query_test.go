package api

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
)

// querier answers with a fixed code and records what it was asked.
type querier struct {
	code string
	got  []query.Request
}

func (q *querier) Query(_ context.Context, r query.Request) query.Answer {
	q.got = append(q.got, r)
	a := query.Answer{Store: r.Store, Device: r.Device, Op: r.Op, OK: q.code == "", Code: q.code}
	if !a.OK {
		a.Error = "failed: " + q.code
	}
	return a
}

func TestQueryRoute(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	q := &querier{}
	s, err := New(Options{Store: st, Query: q, Audit: st, Tokens: []Token{
		{Name: "wall", Role: "viewer", Token: viewerToken}, {Name: "jane", Role: "engineer", Token: engineerToken}, {Name: "ops", Role: "admin", Token: adminToken},
	}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(srv.Close)
	post := func(path, token, body string) (int, query.Answer) {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var a query.Answer
		_ = json.NewDecoder(resp.Body).Decode(&a)
		return resp.StatusCode, a
	}
	const path = "/api/v1/stores/s0042/devices/receipt-1/query"
	if code, a := post(path, engineerToken, `{"op":"identify"}`); code != 200 || !a.OK || !reflect.DeepEqual(q.got[0], query.Request{Who: "jane", Store: "s0042", Device: "receipt-1", Op: "identify"}) {
		t.Errorf("identify: %d %+v, asked %+v", code, a, q.got)
	}
	if code, _ := post(path+"?tenant=acme", engineerToken, ``); code != 200 || q.got[1].Tenant != "acme" || q.got[1].Op != "status" {
		t.Errorf("empty body with tenant: %d %+v", code, q.got[1])
	}
	for _, c := range []struct {
		path, token, body string
		want              int
	}{
		{path, viewerToken, `{}`, 403},
		{path, engineerToken, `{"op":"reboot"}`, 400},
		{path, engineerToken, `{"op":"raw","args":{"hex":"1004"}}`, 403},
		{path + "?store=x", engineerToken, `{}`, 400},
		{"/api/v1/stores/s0042/devices/a%2Fb/query", engineerToken, `{}`, 400},
	} {
		if code, _ := post(c.path, c.token, c.body); code != c.want {
			t.Errorf("%s %s as %s: %d, want %d", c.path, c.body, c.token, code, c.want)
		}
	}
	if code, _ := post(path, adminToken, `{"op":"raw","args":{"hex":"1004"}}`); code != 200 {
		t.Errorf("raw as admin: %d", code)
	}
	for code, want := range map[string]int{query.CodeOffline: 503, query.CodeBusy: 409, query.CodeRateLimited: 429, query.CodeNoAnswer: 504,
		"timeout": 504, query.CodeUnknownDevice: 404, "bad_signature": 502, "denied": 403} {
		q.code = code
		if got, a := post(path, engineerToken, `{}`); got != want || a.Error != "failed: "+code {
			t.Errorf("%s: HTTP %d %+v, want %d", code, got, a, want)
		}
	}
}

func TestAuditRoute(t *testing.T) {
	e := newEnvWithAudit(t)
	now := e.clk.Now()
	for _, x := range []store.AuditEntry{
		{At: now, Event: store.AuditRequest, ID: "q-1", Who: "jane", Tenant: "acme", Store: "s0042", Device: "receipt-1", Op: "status", OK: true},
		{At: now, Event: store.AuditAnswer, ID: "q-1", Who: "jane", Tenant: "acme", Store: "s0042", Device: "receipt-1", Op: "status", OK: true},
		{At: now, Event: store.AuditRefused, Who: "joe", Tenant: "acme", Store: "s0043", Device: "scale-1", Op: "status", Code: "agent_offline"},
	} {
		if _, err := e.st.AppendAudit(x); err != nil {
			t.Fatal(err)
		}
	}
	var all, joe []store.AuditEntry
	if code := e.call("GET", "/api/v1/audit", engineerToken, nil, nil); code != 403 {
		t.Errorf("engineer reads the audit trail: %d", code)
	}
	e.call("GET", "/api/v1/audit", adminToken, nil, &all)
	e.call("GET", "/api/v1/audit?who=joe&since=1h", adminToken, nil, &joe)
	if len(all) != 3 || all[0].Seq != 3 || all[2].Event != store.AuditRequest || len(joe) != 1 || joe[0].Code != "agent_offline" {
		t.Errorf("all %+v\njoe %+v", all, joe)
	}
	if code := e.call("GET", "/api/v1/audit?whom=joe", adminToken, nil, nil); code != 400 {
		t.Errorf("unknown parameter: %d", code)
	}
}

func FuzzParseAuditFilter(f *testing.F) {
	for _, s := range []string{"", "who=jane&since=1h&limit=10", "store=s0042&device=receipt-1&id=q-x", "since=7d", "tenant=a%2Fb"} {
		f.Add(s)
	}
	now := time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		a, err := ParseAuditFilter(q, now)
		if err == nil && (a.Limit < 0 || a.Limit > MaxLimit || len(a.Who) > 128) {
			t.Fatalf("%q: %+v", raw, a)
		}
	})
}
