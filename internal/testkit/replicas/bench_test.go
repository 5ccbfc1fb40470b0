//go:build unix

package replicas

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkReplicas measures a fault storm (every event a new fault on a
// new device: one incident and one webhook ticket each) through 1, 2 and 3
// replicas over PostgreSQL and a 3-node NATS cluster, and through the
// single hub (bbolt, embedded broker) in the same run:
//
//	go test -run '^$' -bench Replicas -benchtime 1x ./internal/testkit/replicas
//
// events/s: events over the time from the first publish until the last
// incident is stored (read through the API); ticket_p50_ms, ticket_p99_ms:
// from an event's publish to its ticket's arrival at the helpdesk. With
// PostgreSQL it also reports the database's bytes per incident and per
// event-log entry (tables with their indexes).
func BenchmarkReplicas(b *testing.B) {
	const stores, devices = 40, 25
	for _, n := range []int{0, 1, 2, 3} {
		name := fmt.Sprintf("postgres-nats-%d-replicas", n)
		if n == 0 {
			name = "single-hub-bbolt-embedded"
		}
		b.Run(name, func(b *testing.B) {
			var e *env
			var urls []string
			var user func(s int) (string, string)
			if n == 0 {
				e, urls, user = newBoltEnv(b, stores)
			} else {
				e = newEnv(b, n, false)
				names := []string{}
				for i := range n {
					e.start(i)
					names = append(names, e.replicas[i].name)
				}
				e.settle(names...)
				urls = e.nats.URLs()
				user = func(int) (string, string) { return "", "" }
			}
			var agents []*agent
			for s := range stores {
				u, pw := user(s)
				agents = append(agents, dialAgent(b, urls, s, wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%03d", s), Agent: "bo"}, u, pw))
			}
			b.ResetTimer()
			var rates, p50s, p99s []float64
			for i := range b.N {
				sent := sync.Map{}
				start := time.Now()
				var wg sync.WaitGroup
				for _, a := range agents {
					wg.Add(1)
					go func() {
						defer wg.Done()
						for d := range devices {
							dev := fmt.Sprintf("prn%02d-%d", d, i)
							sent.Store("acme/"+a.id.Store+"/"+dev+"/paper_out", time.Now())
							if err := a.fault(dev); err != nil {
								b.Error(err)
								return
							}
						}
					}()
				}
				wg.Wait()
				want := stores * devices * (i + 1)
				testenv.WaitFor(b, 5*time.Minute, fmt.Sprintf("%d incidents through the API", want), func() bool {
					return e.apiLen(0, "/api/v1/incidents?fault=paper_out&limit=5000") >= want
				})
				stored := time.Since(start)
				testenv.WaitFor(b, 5*time.Minute, fmt.Sprintf("%d tickets", want), func() bool {
					t, _, _ := e.desk.tickets()
					return t >= want
				})
				var lat []float64
				e.desk.mu.Lock()
				sent.Range(func(k, v any) bool {
					if at, ok := e.desk.first[k.(string)]; ok {
						lat = append(lat, float64(at.Sub(v.(time.Time)).Milliseconds()))
					}
					return true
				})
				e.desk.mu.Unlock()
				slices.Sort(lat)
				rates = append(rates, float64(stores*devices)/stored.Seconds())
				p50s, p99s = append(p50s, lat[len(lat)/2]), append(p99s, lat[len(lat)*99/100])
			}
			b.StopTimer()
			b.ReportMetric(mean(rates), "events/s")
			b.ReportMetric(mean(p50s), "ticket_p50_ms")
			b.ReportMetric(mean(p99s), "ticket_p99_ms")
			_, calls, twice := e.desk.tickets()
			if len(twice) > 0 {
				b.Errorf("tickets sent twice: %v", twice)
			}
			b.ReportMetric(float64(calls), "opening_calls")
			if n > 0 {
				var incBytes, incs, logBytes, logs float64
				e.query(`SELECT pg_total_relation_size('incidents')::float8, (SELECT count(*) FROM incidents)::float8,
					pg_total_relation_size('event_log')::float8, (SELECT count(*) FROM event_log)::float8`, nil, &incBytes, &incs, &logBytes, &logs)
				b.ReportMetric(incBytes/incs, "pg_bytes/incident")
				b.ReportMetric(logBytes/logs, "pg_bytes/log_entry")
			}
		})
	}
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// newBoltEnv starts the single hub (bbolt store, embedded broker) with the
// same policy and helpdesk as the replicas, admitting stores agents.
func newBoltEnv(tb testing.TB, stores int) (*env, []string, func(int) (string, string)) {
	e := &env{t: tb, desk: newDesk(tb)}
	hash, err := broker.HashPassword("agent-pw", 1000)
	if err != nil {
		tb.Fatal(err)
	}
	var agents []string
	for s := range stores {
		agents = append(agents, fmt.Sprintf("  - {tenant: acme, store: s%03d, agent: bo, password_hash: %q}", s, hash))
	}
	mqtt := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(tb))
	r := &replica{name: "bolt", api: fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(tb)), conf: filepath.Join(tb.TempDir(), "hub.yaml")}
	y := fmt.Sprintf(`data_dir: %s
log: {level: warn}
api: {listen: %q, tokens: [{name: ops, role: admin, token: %s}]}
broker: {mode: embedded, embedded: {listen: %q}}
agents:
%s
`, tb.TempDir(), r.api, apiToken, mqtt, strings.Join(agents, "\n")) + e.desk.policyAndHelpdesk()
	if err := os.WriteFile(r.conf, []byte(y), 0o600); err != nil {
		tb.Fatal(err)
	}
	e.replicas = []*replica{r}
	e.start(0)
	return e, []string{"tcp://" + mqtt}, func(s int) (string, string) { return fmt.Sprintf("acme-s%03d-bo", s), "agent-pw" }
}
