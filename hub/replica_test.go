package hub

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
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

// The cluster's API URL: given and checked, or the API's listen address
// when that names one.
func TestClusterAPIURL(t *testing.T) {
	const base = `store: {type: postgres, dsn: "postgres://h/db"}
broker: {mode: external, external: {urls: [tcp://n1:1883]}}
`
	for _, tc := range []struct {
		name, yaml, want, mistake string
	}{
		{"given", "cluster: {replica: a, api_url: \"https://hub-a.example:8443\"}\n", "https://hub-a.example:8443", ""},
		{"default listen", "cluster: {replica: a}\n", "http://127.0.0.1:8080", ""},
		{"listen on one address", "api: {listen: \"10.0.0.5:9000\"}\ncluster: {replica: a}\n", "http://10.0.0.5:9000", ""},
		{"listen on every address", "api: {listen: \":9000\"}\ncluster: {replica: a}\n", "", "cluster.api_url"},
		{"listen on 0.0.0.0", "api: {listen: \"0.0.0.0:9000\"}\ncluster: {replica: a}\n", "", "cluster.api_url"},
		{"not http", "cluster: {replica: a, api_url: \"ftp://hub-a\"}\n", "", "cluster.api_url"},
		{"a path", "cluster: {replica: a, api_url: \"http://hub-a:8080/api/v1\"}\n", "", "cluster.api_url"},
		{"a wildcard", "cluster: {replica: a, api_url: \"http://0.0.0.0:8080\"}\n", "", "cluster.api_url"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := ParseConfig("hub.yaml", []byte("data_dir: /tmp/x\n"+base+tc.yaml), noEnv)
			if tc.mistake != "" {
				if err == nil || !strings.Contains(err.Error(), tc.mistake) {
					t.Fatalf("err %v, want one about %s", err, tc.mistake)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Cluster.APIURL != tc.want {
				t.Errorf("api_url %q, want %q", cfg.Cluster.APIURL, tc.want)
			}
		})
	}
}

// fakeHolders is a lease table as the router reads it.
type fakeHolders struct {
	holders map[int]string
	members []cluster.Member
	err     error
}

func (f fakeHolders) Holders(context.Context) (map[int]string, error) { return f.holders, f.err }
func (f fakeHolders) Members(context.Context) ([]cluster.Member, error) {
	return f.members, f.err
}

// The router runs an action here when the store's partition runs here,
// sends it to the holder's API otherwise, and says ErrNoOwner when no
// replica can take it.
func TestPartitionRouter(t *testing.T) {
	const n = 4
	// A store of each partition.
	stores := map[int]string{}
	for i := 0; len(stores) < n; i++ {
		s := fmt.Sprintf("s%04d", i)
		if _, ok := stores[cluster.PartitionOf("acme", s, n)]; !ok {
			stores[cluster.PartitionOf("acme", s, n)] = s
		}
	}
	local := ingest.New(ingest.Options{})
	leases := fakeHolders{
		holders: map[int]string{0: "r1", 1: "r2", 2: "r1" /* 3: none */},
		members: []cluster.Member{{Replica: "r1", APIURL: "http://r1:8080"}, {Replica: "r2", APIURL: ""}},
	}
	r := newPartitionRouter(n, "r1", leases, nil)
	stop := r.running(0, local)
	for _, tc := range []struct {
		name          string
		tenant, store string
		pipe          bool
		url           string
		noOwner       bool
	}{
		{"running here", "acme", stores[0], true, "", false},
		{"the hub's own incidents: partition 0", "", "", true, "", false},
		{"held here, not running yet", "acme", stores[2], false, "", true},
		{"held by a replica without an API URL", "acme", stores[1], false, "", true},
		{"held by nobody", "acme", stores[3], false, "", true},
	} {
		got, err := r.Route(context.Background(), tc.tenant, tc.store)
		if (got.Pipe != nil) != tc.pipe || got.URL != tc.url || errors.Is(err, api.ErrNoOwner) != tc.noOwner {
			t.Errorf("%s: %+v, %v", tc.name, got, err)
		}
	}
	// Held elsewhere: that replica's URL.
	r2 := newPartitionRouter(n, "r2", leases, nil)
	if got, err := r2.Route(context.Background(), "acme", stores[0]); err != nil || got.URL != "http://r1:8080" || got.Pipe != nil {
		t.Errorf("held by r1, asked on r2: %+v, %v", got, err)
	}
	stop()
	if _, err := r.Route(context.Background(), "acme", stores[0]); !errors.Is(err, api.ErrNoOwner) {
		t.Errorf("a stopped partition still runs here: %v", err)
	}
	if _, err := newPartitionRouter(n, "r2", fakeHolders{err: errors.New("db away")}, nil).Route(context.Background(), "acme", stores[0]); !errors.Is(err, api.ErrNoOwner) {
		t.Errorf("database away: %v, want ErrNoOwner", err)
	}
}

// An action that reaches a partition whose pipeline has just stopped (its
// lease lost between the lookup and the action) is ErrNoOwner: 503, try
// again at the new holder.
func TestPartitionWriterStoppedIsNoOwner(t *testing.T) {
	pipe := ingest.New(ingest.Options{Engine: incident.New(incident.Config{Policy: incident.DefaultPolicy()})})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_ = pipe.Run(ctx)
	err := partitionWriter{pipe}.Do(context.Background(), func(*incident.Engine) (incident.Changes, error) { return incident.Changes{}, nil })
	if !errors.Is(err, api.ErrNoOwner) {
		t.Errorf("a stopped partition's action: %v, want ErrNoOwner", err)
	}
}
