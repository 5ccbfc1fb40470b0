package console_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/console"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// router sends every action to one place.
type router struct {
	to  api.Route
	eng *incident.Engine
}

func (r router) Route(context.Context, string, string) (api.Route, error) { return r.to, nil }
func (r router) Windows() ([]incident.Window, error)                      { return r.eng.Windows(), nil }
func (r router) Replica() string                                          { return "test" }

// On a replica that does not hold the store's partition, the console's
// actions reach the holder's engine with the token the session was opened
// with: the holder names the person, as if they had used its own console.
func TestConsoleActionsReachThePartitionsOwner(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var running []chan struct{}
	t.Cleanup(func() {
		cancel()
		for _, d := range running {
			<-d
		}
		st.Close()
	})
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	start := func() (*incident.Engine, *ingest.Pipeline) {
		eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
		pipe := ingest.New(ingest.Options{Engine: eng, Store: st, Clock: clk})
		done := make(chan struct{})
		running = append(running, done)
		go func() { pipe.Run(ctx); close(done) }()
		return eng, pipe
	}
	tokens := []api.Token{{Name: "jane", Role: "engineer", Token: engineerToken}}
	ownerEng, ownerPipe := start()
	owner, err := api.New(api.Options{Engine: ownerEng, Pipeline: ownerPipe, Store: st, Tokens: tokens, Clock: clk,
		Router: router{to: api.Route{Pipe: ownerPipe}, eng: ownerEng}})
	if err != nil {
		t.Fatal(err)
	}
	ownerSrv := httptest.NewServer(owner.Handler())
	defer ownerSrv.Close()

	frontEng, frontPipe := start()
	front, err := api.New(api.Options{Engine: frontEng, Pipeline: frontPipe, Store: st, Tokens: tokens, Clock: clk,
		Router: router{to: api.Route{URL: ownerSrv.URL}, eng: ownerEng}})
	if err != nil {
		t.Fatal(err)
	}
	c, err := console.New(console.Options{API: front, Engine: frontEng, Store: st, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle(console.Prefix, c.Handler())
	mux.Handle("/", front.Handler())
	frontSrv := httptest.NewServer(mux)
	defer frontSrv.Close()

	// An incident in the owner's engine.
	id := wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "bo"}
	now := clk.Now()
	ev := &wire.Event{Header: wire.Header{AgentID: id, Boot: "b1", Seq: 1, Time: now}, Device: "prn-1", Since: now,
		Faults: []wire.Fault{wire.NewFault(wire.FaultPaperOut, "")}}
	ev.State = wire.StateOf(ev.Faults)
	b, _ := wire.Encode(ev)
	if err := ownerPipe.Handle(ctx, id.Topic(wire.ChannelEvents), b, "test"); err != nil {
		t.Fatal(err)
	}
	var inc incident.Incident
	deadline := time.Now().Add(10 * time.Second)
	for {
		live := ownerEng.LiveIncidents()
		if len(live) == 1 {
			inc = live[0]
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no incident in the owner's engine: %+v", live)
		}
		clk.Advance(time.Second)
		_ = ownerPipe.Do(ctx, func(*incident.Engine) (incident.Changes, error) { return incident.Changes{}, nil })
	}

	br := newBrowser(t, frontSrv.URL)
	csrf := br.login(engineerToken)
	if resp, page := br.do("POST", "/console/incidents/"+inc.ID+"/acknowledge", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("acknowledge through the front's console: %d\n%s", resp.StatusCode, page)
	}
	if got, _ := ownerEng.Live(inc.ID); got.State != incident.StateAcknowledged {
		t.Errorf("the owner's engine did not acknowledge: %+v", got)
	}
	tl, err := st.Timeline(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(tl, func(e incident.Entry) bool { return e.Author == "jane" && e.Kind == incident.EntryState }) {
		t.Errorf("the timeline does not name the session's person: %+v", tl)
	}
	form := url.Values{"csrf": {csrf}, "store": {"acme/s0042"}, "duration": {"1h"}, "reason": {"refit"}}
	if resp, page := br.do("POST", "/console/maintenance", form); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("window through the front's console: %d\n%s", resp.StatusCode, page)
	}
	if len(ownerEng.Windows()) != 1 || len(frontEng.Windows()) != 0 {
		t.Errorf("windows: owner %+v, front %+v", ownerEng.Windows(), frontEng.Windows())
	}
	if _, page := br.do("GET", "/console/maintenance", nil); !strings.Contains(page, "refit") {
		t.Errorf("the front's console does not list the owner's window:\n%s", page)
	}
}

// mapStore is a SealedStore in memory: the database of a cluster.
type mapStore struct {
	mu sync.Mutex
	m  map[string][]byte
	at map[string]time.Time
}

func (s *mapStore) PutSession(key, sealed []byte, expires time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[string(key)], s.at[string(key)] = sealed, expires
	return nil
}

func (s *mapStore) GetSession(key []byte) ([]byte, time.Time, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[string(key)]
	return v, s.at[string(key)], ok, nil
}

func (s *mapStore) DeleteSession(key []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.m, string(key))
	return nil
}

// Behind a load balancer without sticky sessions a browser's requests
// reach any replica: a session opened on one serves on the others (the
// replicas share them sealed in the database, which cannot open them nor
// read the login token in them), and a logout on one ends it on all.
func TestASessionOpenedOnOneReplicaServesOnTheOthers(t *testing.T) {
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	shared := &mapStore{m: map[string][]byte{}, at: map[string]time.Time{}}
	var urls []string
	for range 2 {
		eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
		a, err := api.New(api.Options{Engine: eng, Store: st, Clock: clk, Tokens: []api.Token{{Name: "jane", Role: "engineer", Token: engineerToken}}})
		if err != nil {
			t.Fatal(err)
		}
		c, err := console.New(console.Options{API: a, Engine: eng, Store: st, Clock: clk, Sessions: console.SealedSessions{Store: shared}})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(c.Handler())
		defer srv.Close()
		urls = append(urls, srv.URL)
	}
	br := newBrowser(t, urls[0])
	csrf := br.login(engineerToken)
	br.base = urls[1] // the same browser (cookies go by host), the other replica
	if resp, page := br.do("GET", "/console/maintenance", nil); resp.StatusCode != http.StatusOK || !strings.Contains(page, "jane") {
		t.Fatalf("the other replica does not know the session: %d\n%s", resp.StatusCode, page)
	}
	for k, v := range shared.m {
		if strings.Contains(string(v), engineerToken) || strings.Contains(string(v), "jane") || strings.Contains(k, "jane") {
			t.Fatalf("the shared store can read the session: %q", v)
		}
	}
	if resp, _ := br.do("POST", "/console/logout", url.Values{"csrf": {csrf}}); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	br.base = urls[0]
	if resp, _ := br.do("GET", "/console/maintenance", nil); resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("after a logout on the other replica the first still serves the session: %d", resp.StatusCode)
	}
}
