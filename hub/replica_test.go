package hub

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A cluster: section needs the postgres store and external brokers; with
// them it loads with its defaults filled in.
func TestClusterSection(t *testing.T) {
	for _, tc := range []struct {
		name, yaml string
		mistakes   []string // in the error, in order
	}{
		{"bolt and embedded", "cluster: {replica: a}\n", []string{"postgres store", "external brokers"}},
		{"postgres and external", `store: {type: postgres, dsn: "postgres://h/db"}
broker: {mode: external, external: {urls: [tcp://n1:1883, tcp://n2:1883]}}
cluster: {replica: a, lease: 6s}
`, nil},
		{"bad values", `store: {type: postgres, dsn: "postgres://h/db"}
broker: {mode: external, external: {urls: [tcp://n1:1883]}}
cluster: {replica: a, partitions: 1000, lease: 10s, renew: 8s}
`, []string{"cluster.partitions", "cluster.renew"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("hub.yaml", []byte("data_dir: /tmp/x\n"+tc.yaml), noEnv)
			if len(tc.mistakes) == 0 {
				if err != nil {
					t.Fatal(err)
				}
				if c := cfg.Cluster; c == nil || c.Replica != "a" || c.Partitions != 6 || c.Renew != 2e9 {
					t.Errorf("cluster %+v", c)
				}
				return
			}
			if err == nil {
				t.Fatal("loaded")
			}
			msg := err.Error()
			at := 0
			for _, m := range tc.mistakes {
				i := strings.Index(msg[at:], m)
				if i < 0 {
					t.Fatalf("%q not in (the rest of) %v", m, msg)
				}
				at += i
			}
		})
	}
	if cfg, err := ParseConfig("hub.yaml", []byte("data_dir: /tmp/x\n"), noEnv); err != nil || cfg.Cluster != nil {
		t.Errorf("without a cluster: section: %+v, %v", cfg.Cluster, err)
	}
}

// On a replica the engine's actions are refused, everything else passes.
func TestReplicaRefusesEngineActions(t *testing.T) {
	h := refuseEngineActions(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusTeapot) }))
	for _, tc := range []struct {
		method, path string
		want         int
	}{
		{"POST", "/api/v1/incidents/INC-000001/acknowledge", http.StatusServiceUnavailable},
		{"POST", "/api/v1/incidents/INC-000001/close", http.StatusServiceUnavailable},
		{"POST", "/api/v1/incidents/INC-000001/comments", http.StatusServiceUnavailable},
		{"POST", "/api/v1/maintenance", http.StatusServiceUnavailable},
		{"DELETE", "/api/v1/maintenance/w1", http.StatusServiceUnavailable},
		{"POST", "/console/incidents/INC-000001/acknowledge", http.StatusServiceUnavailable},
		{"POST", "/console/maintenance/w1/delete", http.StatusServiceUnavailable},
		{"GET", "/api/v1/incidents/INC-000001", http.StatusTeapot},
		{"GET", "/api/v1/maintenance", http.StatusTeapot},
		{"POST", "/api/v1/stores/s1/devices/d1/query", http.StatusTeapot},
		{"POST", "/console/login", http.StatusTeapot},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.want {
			t.Errorf("%s %s: %d, want %d", tc.method, tc.path, rec.Code, tc.want)
		}
	}
}
