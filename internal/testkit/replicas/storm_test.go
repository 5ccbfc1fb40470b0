//go:build unix

package replicas

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// storm has every store's agent report a new fault on each of its devices,
// one after the other, while during runs in the middle of it; then it
// checks that every fault became exactly one incident and exactly one
// ticket at the helpdesk. The agents go on with a heartbeat every 3 s, as
// storeagent does every telemetry interval, so that a lost last fault shows
// as a gap; what the broker lost, the hub asks the agents for again
// (hub/resend).
func storm(t *testing.T, e *env, stores, devices int, during func()) {
	t.Helper()
	urls := e.nats.URLs()
	var agents []*agent
	for s := range stores {
		agents = append(agents, newAgent(t, urls, s, wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%03d", s), Agent: "bo"}))
	}
	var wg sync.WaitGroup
	errs := make(chan error, stores)
	half := make(chan struct{})
	var once sync.Once
	for _, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for d := range devices {
				if d == devices/2 {
					once.Do(func() { close(half) })
				}
				if err := a.fault(fmt.Sprintf("prn%02d", d)); err != nil {
					errs <- err
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
	}
	<-half
	during()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	beating := make(chan struct{})
	var beats sync.WaitGroup
	beats.Add(1)
	go func() {
		defer beats.Done()
		for {
			for _, a := range agents {
				a.beat()
			}
			select {
			case <-beating:
				return
			case <-time.After(3 * time.Second):
			}
		}
	}()
	defer func() { close(beating); beats.Wait() }()
	defer func() {
		resent := 0
		for _, a := range agents {
			a.mu.Lock()
			resent += a.resent
			a.mu.Unlock()
		}
		t.Logf("the agents published %d messages again at the hub's request (what the broker lost)", resent)
	}()
	want := stores * devices
	var counts map[string]int
	deadline := time.Now().Add(90 * time.Second)
	for {
		c, err := e.incidentCounts()
		if err == nil {
			counts = c
		}
		if len(counts) == want {
			break
		}
		if time.Now().After(deadline) {
			var missing []string
			for s := range stores {
				for d := range devices {
					if k := fmt.Sprintf("acme/s%03d/prn%02d/paper_out", s, d); counts[k] == 0 {
						missing = append(missing, k)
					}
				}
			}
			var seqs []string
			for _, k := range missing {
				var w string
				e.query(`SELECT record->>'seq' FROM agents WHERE tenant = 'acme' AND store = $1`, []any{strings.Split(k, "/")[1]}, &w)
				seqs = append(seqs, w)
			}
			t.Fatalf("%d incidents, want %d: missing %v; their agents' sequence windows %v", len(counts), want, missing, seqs)
		}
		time.Sleep(200 * time.Millisecond)
	}
	for key, n := range counts {
		if n != 1 {
			t.Errorf("%s: %d incidents, want 1", key, n)
		}
	}
	testenv.WaitFor(t, 90*time.Second, fmt.Sprintf("%d tickets at the helpdesk", want), func() bool {
		tickets, _, _ := e.desk.tickets()
		return tickets == want
	})
	tickets, calls, twice := e.desk.tickets()
	if len(twice) > 0 || tickets != want {
		t.Errorf("%d tickets (want %d); sent twice: %v", tickets, want, twice)
	}
	// The helpdesk's answer (its ticket id) reaches each incident through
	// the engine of the incident's partition, wherever the delivery runs
	// (the delivery queues it in the database; hub/replica.go).
	linked := func() (string, bool) {
		var unlinked, queued string
		e.query(`SELECT coalesce(string_agg(id || ' ' || state, ', '), '') FROM incidents WHERE fault = 'paper_out' AND coalesce(record->'helpdesk'->>'id', '') = ''`, nil, &unlinked)
		e.query(`SELECT coalesce(string_agg(incident || ' p' || partition, ', '), '') FROM helpdesk_feedback`, nil, &queued)
		return fmt.Sprintf("incidents without their ticket: [%s]; feedback queued: [%s]", unlinked, queued), unlinked == "" && queued == ""
	}
	deadline = time.Now().Add(60 * time.Second)
	for {
		why, ok := linked()
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not every ticket linked on its incident after 60 s: %s", why)
		}
		time.Sleep(200 * time.Millisecond)
	}
	// Every running replica lists the same devices and agents, though it
	// started before any of them reported (hub/directory.go).
	for i, r := range e.replicas {
		if r.proc == nil || r.proc.Exited() {
			continue
		}
		testenv.WaitFor(t, 10*time.Second, r.name+" listing every device and agent", func() bool {
			return e.apiLen(i, "/api/v1/devices") == want && e.apiLen(i, "/api/v1/agents") == stores
		})
	}
	if calls != tickets {
		t.Logf("%d opening calls for %d tickets: a call repeated with its webhook-id after a takeover (the receiver's idempotency key)", calls, tickets)
	}
	if len(e.desk.bad) > 0 {
		t.Errorf("calls with bad signatures: %v", e.desk.bad)
	}
}

// kill -9 one of three replicas during a fault storm: its partitions are
// taken over within the lease, and no event is lost, no incident opened
// twice, no ticket sent twice.
func TestKillOneOfThreeReplicasDuringAStorm(t *testing.T) {
	e := startEnv(t, false)
	var took time.Duration
	storm(t, e, 12, 10, func() {
		// The victim: the delivery's holder, so that the helpdesk delivery
		// moves too.
		victim := 0
		for i, r := range e.replicas {
			if e.holders()[partitions] == r.name {
				victim = i
			}
		}
		others := []string{}
		for i, r := range e.replicas {
			if i != victim {
				others = append(others, r.name)
			}
		}
		killed := time.Now()
		e.kill(victim)
		t.Logf("killed %s (SIGKILL), holder of the delivery", e.replicas[victim].name)
		testenv.WaitFor(t, 60*time.Second, "the survivors holding every partition", func() bool { return e.allHeldBy(others...) })
		took = time.Since(killed)
		t.Logf("every partition taken over %v after the kill (lease %v)", took.Round(10*time.Millisecond), e.lease)
	})
	if took > 30*time.Second {
		t.Errorf("takeover took %v, more than 30s", took)
	}
}

// startEnv starts three replicas (skipping the test with -short: each of
// these runs takes half a minute or more) and waits until they share the
// partitions and every partition's session exists.
func startEnv(t *testing.T, ownPostgres bool) *env {
	t.Helper()
	if testing.Short() {
		t.Skip("long: three storehub replicas over PostgreSQL and a 3-node NATS cluster")
	}
	e := newEnv(t, 3, ownPostgres)
	for i := range e.replicas {
		e.start(i)
	}
	e.settle("r1", "r2", "r3")
	return e
}

// Stopping one of the three broker nodes during a storm: the agents and
// the replicas' sessions move to another node, and nothing is lost.
func TestStopOneBrokerNodeDuringAStorm(t *testing.T) {
	e := startEnv(t, false)
	storm(t, e, 12, 10, func() {
		e.nats.Stop(0)
		t.Log("stopped broker node n1")
	})
}

// Restarting PostgreSQL during a storm: the replicas wait and carry on;
// nothing is lost and nothing is stored twice.
func TestRestartPostgresDuringAStorm(t *testing.T) {
	e := startEnv(t, true)
	storm(t, e, 12, 10, func() {
		if err := e.pg.Restart(); err != nil {
			t.Fatal(err)
		}
		t.Log("restarted PostgreSQL")
	})
}

// A rolling restart of the three replicas during a storm loses nothing;
// afterwards every replica's API shows the same incidents.
func TestRollingRestartDuringAStormAndTheSameDataOnEveryReplica(t *testing.T) {
	e := startEnv(t, false)
	storm(t, e, 12, 10, func() {
		for i, r := range e.replicas {
			e.stop(i)
			e.start(i)
			e.settle("r1", "r2", "r3")
			t.Logf("restarted %s", r.name)
		}
	})
	// The replicas' /metrics count their partitions' work (heartbeats keep
	// coming after the restarts; the replica's own session takes only
	// query answers), and the leases add up.
	held, beats := 0.0, 0.0
	for i := range e.replicas {
		held += e.metric(i, "storehub_cluster_partitions_held")
		beats += e.metric(i, `storehub_messages_total{channel="metrics",outcome="applied"}`)
	}
	if held != partitions+1 || beats == 0 {
		t.Errorf("the replicas' /metrics hold %v leases (want %d: the partitions and the delivery) and count %v heartbeats applied (want some)",
			held, partitions+1, beats)
	}
	// Every partition taken over read the end of its session's backlog
	// (the markers came back through NATS) well before the 2 minutes'
	// limit: none still holds its decisions.
	testenv.WaitFor(t, 30*time.Second, "every partition to have read its backlog", func() bool {
		listening := 0.0
		for i := range e.replicas {
			listening += e.metric(i, "storehub_cluster_partitions_listening")
		}
		return listening == 0
	})
	var first []string
	for i, r := range e.replicas {
		ids := e.apiIncidents(i)
		if len(ids) != 12*10 {
			t.Errorf("%s's API lists %d paper_out incidents, want %d", r.name, len(ids), 12*10)
		}
		if i == 0 {
			first = ids
		} else if strings.Join(ids, ",") != strings.Join(first, ",") {
			t.Errorf("%s's API lists other incidents than %s's", r.name, e.replicas[0].name)
		}
	}
}
