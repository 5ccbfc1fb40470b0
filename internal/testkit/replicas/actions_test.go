//go:build unix

package replicas

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// call sends an API request to replica i with the test's token.
func (e *env) call(i int, method, path string, body any) (int, http.Header, []byte) {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, "http://"+e.replicas[i].api+path, rd)
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s on %s: %v", method, path, e.replicas[i].name, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// state is an incident's state through replica i's API.
func (e *env) state(i int, id string) string {
	e.t.Helper()
	code, _, b := e.call(i, "GET", "/api/v1/incidents/"+id, nil)
	var d struct {
		Incident struct {
			State string `json:"state"`
		} `json:"incident"`
	}
	if code != 200 || json.Unmarshal(b, &d) != nil {
		e.t.Fatalf("incident %s on %s: %d %s", id, e.replicas[i].name, code, b)
	}
	return d.Incident.State
}

// openIncident has store's agent report a fault on dev and returns the
// incident's id once replica 0's API shows it.
func (e *env) openIncident(a *agent, dev string) string {
	e.t.Helper()
	if err := a.fault(dev); err != nil {
		e.t.Fatal(err)
	}
	var id string
	testenv.WaitFor(e.t, 60*time.Second, "the incident of "+a.id.Store+"/"+dev, func() bool {
		_, _, b := e.call(0, "GET", fmt.Sprintf("/api/v1/incidents?store=%s&device=%s&state=live", a.id.Store, dev), nil)
		var out []struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(b, &out) != nil || len(out) != 1 {
			return false
		}
		id = out[0].ID
		return true
	})
	return id
}

// Incident actions and maintenance windows through a replica that does not
// hold the store's partition reach the holder's engine, and every
// replica's API shows the result; while nobody holds the partition (its
// holder killed, the lease not yet taken over), the answer is 503 with
// Retry-After, and the same request succeeds once a survivor holds it.
func TestActionsThroughAnyReplica(t *testing.T) {
	e := startEnv(t, false)
	a := newAgent(t, e.nats.URLs(), 0, wire.AgentID{Tenant: "acme", Store: "s001", Agent: "bo"})
	p := cluster.PartitionOf("acme", "s001", partitions)
	holder := e.holders()[p]
	via := -1 // a replica that does not hold p
	for i, r := range e.replicas {
		if r.name != holder && via < 0 {
			via = i
		}
	}
	t.Logf("store s001 is partition %d's, held by %s; acting through %s", p, holder, e.replicas[via].name)

	id := e.openIncident(a, "prn00")
	if code, _, b := e.call(via, "POST", "/api/v1/incidents/"+id+"/acknowledge", nil); code != 200 {
		t.Fatalf("acknowledge through %s: %d %s", e.replicas[via].name, code, b)
	}
	for i := range e.replicas {
		if s := e.state(i, id); s != "acknowledged" {
			t.Errorf("after acknowledging, %s shows %s", e.replicas[i].name, s)
		}
	}
	if code, _, b := e.call(via, "POST", "/api/v1/incidents/"+id+"/close", map[string]string{"text": "paper loaded"}); code != 200 {
		t.Fatalf("close through %s: %d %s", e.replicas[via].name, code, b)
	}
	for i := range e.replicas {
		if s := e.state(i, id); s != "closed" {
			t.Errorf("after closing, %s shows %s", e.replicas[i].name, s)
		}
	}

	// A maintenance window, listed by every replica.
	code, _, b := e.call(via, "POST", "/api/v1/maintenance", map[string]string{"tenant": "acme", "store": "s001", "duration": "1h", "reason": "refit"})
	var w struct {
		ID string `json:"id"`
	}
	if code != 201 || json.Unmarshal(b, &w) != nil || w.ID == "" {
		t.Fatalf("window through %s: %d %s", e.replicas[via].name, code, b)
	}
	for i := range e.replicas {
		_, _, b := e.call(i, "GET", "/api/v1/maintenance?store=s001", nil)
		if !bytes.Contains(b, []byte(w.ID)) {
			t.Errorf("%s does not list window %s: %s", e.replicas[i].name, w.ID, b)
		}
	}
	if code, _, b := e.call(via, "DELETE", "/api/v1/maintenance/"+w.ID, nil); code != 204 {
		t.Fatalf("ending the window through %s: %d %s", e.replicas[via].name, code, b)
	}

	// No holder: the holder killed, its lease not yet expired or taken.
	id2 := e.openIncident(a, "prn01")
	victim := e.byName(holder)
	var survivors []string
	for _, r := range e.replicas {
		if r != victim {
			survivors = append(survivors, r.name)
		}
	}
	victim.proc.Kill()
	code, h, b := e.call(via, "POST", "/api/v1/incidents/"+id2+"/acknowledge", nil)
	if code != 503 || h.Get("Retry-After") == "" {
		t.Errorf("acknowledge while partition %d has no live holder: %d (Retry-After %q) %s; want 503 with Retry-After", p, code, h.Get("Retry-After"), b)
	}
	testenv.WaitFor(t, 60*time.Second, "the survivors holding every partition", func() bool { return e.allHeldBy(survivors...) })
	if s := e.state(via, id2); s != "open" {
		t.Errorf("the refused acknowledgement changed the incident: %s", s)
	}
	testenv.WaitFor(t, 30*time.Second, "the acknowledgement accepted by the new holder", func() bool {
		code, _, _ := e.call(via, "POST", "/api/v1/incidents/"+id2+"/acknowledge", nil)
		return code == 200
	})
	for i, r := range e.replicas {
		if r != victim && e.state(i, id2) != "acknowledged" {
			t.Errorf("after the takeover, %s shows %s", r.name, e.state(i, id2))
		}
	}
}
