package api

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// fakeRouter routes every store to one place: pipe (this replica's
// partition), url (another replica), or nowhere (err).
type fakeRouter struct {
	name string
	mu   sync.Mutex
	to   Route
	err  error
	eng  *incident.Engine // whose windows are every partition's
}

func (f *fakeRouter) Route(context.Context, string, string) (Route, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.to, f.err
}
func (f *fakeRouter) Windows() ([]incident.Window, error) { return f.eng.Windows(), nil }
func (f *fakeRouter) Replica() string                     { return f.name }

func (f *fakeRouter) set(to Route, err error) {
	f.mu.Lock()
	f.to, f.err = to, err
	f.mu.Unlock()
}

// clusterOfTwo is an owner, whose partition runs every store, and a front
// replica over the same store that holds none: the front's actions must
// reach the owner's engine through its API.
func clusterOfTwo(t *testing.T, extra ...Token) (owner, front *env, fr *fakeRouter) {
	owner = newEnvWith(t, false, func(o *Options) {
		o.Router = &fakeRouter{name: "owner", to: Route{Pipe: o.Pipeline}, eng: o.Engine}
	})
	fr = &fakeRouter{name: "front", to: Route{URL: owner.srv.URL}, eng: owner.eng}
	front = newEnvWith(t, false, func(o *Options) {
		o.Store = owner.st // the shared database
		o.Router = fr
		o.Tokens = append(o.Tokens, extra...)
	})
	return owner, front, fr
}

func TestActionsThroughAReplicaReachThePartitionsOwner(t *testing.T) {
	owner, front, _ := clusterOfTwo(t)
	owner.publish(wire.ChannelInventory, &wire.Inventory{Header: wire.Header{AgentID: agent, Time: owner.clk.Now()},
		Devices: []wire.DeviceInfo{{ID: "pt-1", Kind: "payment_terminal"}}})
	owner.fault("pt-1", wire.FaultPTHardware)
	owner.advance(time.Second)
	var list []incident.Incident
	if front.call("GET", "/api/v1/incidents?state=open", viewerToken, nil, &list) != 200 || len(list) != 1 {
		t.Fatalf("incidents through the front: %+v", list)
	}
	id := list[0].ID

	var d Detail
	if code := front.call("POST", "/api/v1/incidents/"+id+"/acknowledge", engineerToken, nil, &d); code != 200 || d.Incident.State != incident.StateAcknowledged {
		t.Fatalf("acknowledge through the front: %d %+v", code, d.Incident)
	}
	if inc, live := owner.eng.Live(id); !live || inc.State != incident.StateAcknowledged {
		t.Fatalf("the owner's engine did not acknowledge: %+v", inc)
	}
	if _, live := front.eng.Live(id); live {
		t.Fatal("the front's own engine took the incident")
	}
	if front.call("POST", "/api/v1/incidents/"+id+"/comments", engineerToken, TextRequest{"technician booked"}, nil) != 200 {
		t.Fatal("comment through the front")
	}
	if front.call("POST", "/api/v1/incidents/"+id+"/close", viewerToken, TextRequest{"x"}, nil) != 403 {
		t.Error("a viewer closed through the front")
	}
	if code := front.call("POST", "/api/v1/incidents/"+id+"/close", engineerToken, TextRequest{"card reader replaced"}, &d); code != 200 || d.Incident.State != incident.StateClosed {
		t.Fatalf("close through the front: %d %+v", code, d.Incident)
	}
	if front.call("POST", "/api/v1/incidents/"+id+"/close", engineerToken, nil, nil) != 409 {
		t.Error("closing a closed incident through the front is not a conflict")
	}
	if front.call("POST", "/api/v1/incidents/INC-999999/acknowledge", engineerToken, nil, nil) != 404 {
		t.Error("an unknown incident through the front is not 404")
	}
	// A closed incident takes comments in the shared store, on any replica.
	if front.call("POST", "/api/v1/incidents/"+id+"/comments", engineerToken, TextRequest{"follow-up"}, &d) != 200 ||
		d.Timeline[len(d.Timeline)-1].Text != "follow-up" {
		t.Error("a comment on a closed incident through the front")
	}
	authors := map[string]bool{}
	for _, en := range d.Timeline {
		authors[en.Author+":"+string(en.Kind)] = true
	}
	for _, want := range []string{"jane:state", "jane:comment"} {
		if !authors[want] {
			t.Errorf("timeline lacks %s (the owner names the caller from the forwarded token): %+v", want, d.Timeline)
		}
	}
}

func TestWindowsThroughAReplicaReachThePartitionsOwner(t *testing.T) {
	owner, front, _ := clusterOfTwo(t)
	var w incident.Window
	if code := front.call("POST", "/api/v1/maintenance", engineerToken, WindowRequest{Tenant: "acme", Store: "s0042", Duration: "2h", Reason: "swap"}, &w); code != 201 {
		t.Fatalf("create through the front: %d", code)
	}
	if w.ID == "" || w.CreatedBy != "jane" || w.End.Sub(w.Start) != 2*time.Hour {
		t.Errorf("window %+v", w)
	}
	if len(owner.eng.Windows()) != 1 || len(front.eng.Windows()) != 0 {
		t.Fatalf("windows: owner %+v, front %+v", owner.eng.Windows(), front.eng.Windows())
	}
	var ws []incident.Window
	if front.call("GET", "/api/v1/maintenance", viewerToken, nil, &ws) != 200 || len(ws) != 1 || ws[0].ID != w.ID {
		t.Fatalf("list through the front: %+v", ws)
	}
	if front.call("DELETE", "/api/v1/maintenance/"+w.ID, engineerToken, nil, nil) != 204 || len(owner.eng.Windows()) != 0 {
		t.Fatal("delete through the front")
	}
	if front.call("DELETE", "/api/v1/maintenance/"+w.ID, engineerToken, nil, nil) != 404 {
		t.Error("deleting twice through the front is not 404")
	}
	if front.call("POST", "/api/v1/maintenance", engineerToken, WindowRequest{Tenant: "acme", Store: "s0042", Start: "2026-11-24T10:00:00Z", End: "2026-11-24T09:00:00Z"}, nil) != 400 {
		t.Error("a window ending before it starts was accepted")
	}
}

// The owner checks the forwarded caller's token itself; a refusal there
// comes back as it was.
func TestForwardedActionsCarryTheCallersToken(t *testing.T) {
	const frontOnly = "engineer-known-to-the-front-only"
	owner, front, _ := clusterOfTwo(t, Token{Name: "mallory", Role: "engineer", Token: frontOnly})
	if code := front.call("POST", "/api/v1/maintenance", frontOnly, WindowRequest{Tenant: "acme", Store: "s0042", Duration: "1h"}, nil); code != 401 {
		t.Errorf("a token the owner does not know: %d, want the owner's 401", code)
	}
	if len(owner.eng.Windows()) != 0 {
		t.Error("the owner took a window from a token it does not know")
	}
}

// With no holder (a takeover), an unreachable holder, or a request that
// was already forwarded once, the answer is 503 with Retry-After and the
// request goes no further.
func TestActionsWithoutAnOwnerAnswer503(t *testing.T) {
	var hits int
	var mu sync.Mutex
	elsewhere := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		mu.Lock()
		hits++
		mu.Unlock()
		w.WriteHeader(http.StatusTeapot)
	}))
	defer elsewhere.Close()
	gone := httptest.NewServer(http.NotFoundHandler())
	gone.Close()
	for _, tc := range []struct {
		name      string
		to        Route
		err       error
		forwarded bool
	}{
		{"no holder", Route{}, ErrNoOwner, false},
		{"holder unreachable", Route{URL: gone.URL}, nil, false},
		{"already forwarded once", Route{URL: elsewhere.URL}, nil, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner, front, fr := clusterOfTwo(t)
			owner.fault("pt-1", wire.FaultPTHardware)
			owner.advance(time.Second)
			var list []incident.Incident
			if front.call("GET", "/api/v1/incidents", viewerToken, nil, &list) != 200 || len(list) != 1 {
				t.Fatalf("incidents: %+v", list)
			}
			fr.set(tc.to, tc.err)
			var h http.Header
			if tc.forwarded {
				h = http.Header{ForwardedHeader: {"r2"}}
			}
			for _, rq := range []struct {
				method, path string
				body         any
			}{
				{"POST", "/api/v1/incidents/" + list[0].ID + "/acknowledge", nil},
				{"POST", "/api/v1/maintenance", WindowRequest{Tenant: "acme", Store: "s0042", Duration: "1h"}},
			} {
				code, got := front.callWith(rq.method, rq.path, engineerToken, h, rq.body, nil)
				if code != 503 || got.Get("Retry-After") == "" {
					t.Errorf("%s %s: %d, Retry-After %q; want 503 with Retry-After", rq.method, rq.path, code, got.Get("Retry-After"))
				}
			}
			if inc, _ := owner.eng.Live(list[0].ID); inc.State != incident.StateOpen {
				t.Errorf("the incident changed: %+v", inc)
			}
		})
	}
	if hits != 0 {
		t.Errorf("a request forwarded once was forwarded again (%d times)", hits)
	}
}
