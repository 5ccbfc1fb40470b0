package bench

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// HubProc is a storehub started for a chain run.
type HubProc struct {
	API   string // http://127.0.0.1:PORT
	MQTT  string // the embedded broker's URL, when embedded
	Proc  *testenv.Process
	token string
	http  *http.Client
}

// HubSetup says how to run storehub.
type HubSetup struct {
	Bin      string
	Policy   ChainPolicy
	External string // a broker URL for external mode; "" runs the embedded broker
	Stores   int    // embedded: agents to admit, each with PasswordHash
	Hash     string // $7$ hash of the agents' password (embedded)
	// A replica of several (the replicas chain): the broker cluster's
	// nodes (external mode, instead of External), the PostgreSQL store and
	// the cluster section.
	Externals []string
	DSN       string // store: postgres with this DSN; "" is the bbolt default
	Cluster   *ClusterSetup
	// SigningKey is remote.signing_key (base64 of an Ed25519 seed): the
	// hub signs its requests to agents with it, the resend requests for
	// messages a broker lost among them, and every replica must sign
	// alike. "" leaves the hub its own key file.
	SigningKey string
	// MemoryLimit is memory_limit ("640MiB"); "" is
	// DefaultHubMemoryLimit(Devices).
	MemoryLimit string
	// Devices are the devices the hub keeps in its bbolt file (0 with
	// DSN): they decide DefaultHubMemoryLimit.
	Devices int
}

// HubBudget is the memory the chain's target sets aside for one hub
// (10,000 stores × 30 devices in at most 1 GiB).
const HubBudget = 1 << 30

// hubDBPerDevice is what hub.db takes per device in the chain: 330 MiB
// at 300,000 devices (docs/benchmarks.md).
const hubDBPerDevice = 1153

// DefaultHubMemoryLimit is the memory_limit docs/hub.md ("Sizing and
// memory") recommends for a hub given HubBudget whose hub.db holds
// devices: ¾ of the budget, or the budget less what hub.db will take if
// that is less (the file is mapped into the process, and its pages count
// in its RSS beside everything the limit bounds).
func DefaultHubMemoryLimit(devices int) string {
	limit := min(HubBudget*3/4, HubBudget-devices*hubDBPerDevice)
	return fmt.Sprintf("%dMiB", limit>>20)
}

// Limit is the hub's memory_limit.
func (s HubSetup) Limit() string {
	if s.MemoryLimit != "" {
		return s.MemoryLimit
	}
	return DefaultHubMemoryLimit(s.Devices)
}

// ClusterSetup is a replica's cluster: section (docs/hub.md, "Running
// several replicas").
type ClusterSetup struct {
	Replica    string
	Partitions int
	Lease      time.Duration
}

// Config is hub.yaml for s: data in dataDir, the API on api (host:port)
// with token as its admin token, the embedded broker (if any) on mqttPort.
func (s HubSetup) Config(dataDir, api, token string, mqttPort int) string {
	var b strings.Builder
	level := "warn"
	if s.Cluster != nil {
		level = "info" // the partitions' takeovers and sessions (see ReplicaSet.settled)
	}
	fmt.Fprintf(&b, "data_dir: %q\nlog: {level: %s}\n", dataDir, level)
	// The setting docs/hub.md recommends for a hub given 1 GiB, the chain's
	// target, unless the run asks for another.
	fmt.Fprintf(&b, "memory_limit: %s\n", s.Limit())
	fmt.Fprintf(&b, "api:\n  listen: %s\n  tokens:\n    - {name: bench, role: admin, token: %s}\n", api, token)
	switch {
	case len(s.Externals) > 0:
		var urls []string
		for _, u := range s.Externals {
			urls = append(urls, fmt.Sprintf("%q", u))
		}
		fmt.Fprintf(&b, "broker:\n  mode: external\n  external: {urls: [%s], client_id: %s}\n", strings.Join(urls, ", "), replicaClientID)
	case s.External != "":
		fmt.Fprintf(&b, "broker:\n  mode: external\n  external: {urls: [%q], client_id: storehub-bench}\n", s.External)
	default:
		fmt.Fprintf(&b, "broker:\n  mode: embedded\n  embedded: {listen: '127.0.0.1:%d'}\nagents:\n", mqttPort)
		for i := range s.Stores {
			fmt.Fprintf(&b, "  - {tenant: %s, store: %s, agent: %s, password_hash: '%s'}\n", Tenant, StoreID(i), AgentName, s.Hash)
		}
	}
	if s.DSN != "" {
		fmt.Fprintf(&b, "store: {type: postgres, dsn: %q}\n", s.DSN)
	}
	if c := s.Cluster; c != nil {
		fmt.Fprintf(&b, "cluster: {replica: %s, partitions: %d, lease: %s, api_url: \"http://%s\"}\n", c.Replica, c.Partitions, c.Lease, api)
	}
	if s.SigningKey != "" {
		fmt.Fprintf(&b, "remote: {signing_key: %q}\n", s.SigningKey)
	}
	b.WriteString(s.Policy.HubRules())
	return b.String()
}

// replicaClientID is the replicas' broker.external.client_id: partition
// N's session is replicaClientID-pN.
const replicaClientID = "storehub"

// StartHub writes hub.yaml and starts `storehub serve`.
func StartHub(t testing.TB, s HubSetup) *HubProc {
	t.Helper()
	dir := t.TempDir()
	tok := make([]byte, 24)
	_, _ = rand.Read(tok)
	h := &HubProc{token: hex.EncodeToString(tok), http: &http.Client{Timeout: 30 * time.Second}}
	apiPort := testenv.FreePort(t)
	h.API = fmt.Sprintf("http://127.0.0.1:%d", apiPort)
	mqttPort := 0
	if s.External == "" && len(s.Externals) == 0 {
		mqttPort = testenv.FreePort(t)
		h.MQTT = fmt.Sprintf("tcp://127.0.0.1:%d", mqttPort)
	}
	cfg := filepath.Join(dir, "hub.yaml")
	y := s.Config(filepath.Join(dir, "data"), fmt.Sprintf("127.0.0.1:%d", apiPort), h.token, mqttPort)
	if err := os.WriteFile(cfg, []byte(y), 0o600); err != nil {
		t.Fatal(err)
	}
	h.Proc = testenv.Start(t, s.Bin, "serve", "--config", cfg)
	testenv.WaitFor(t, 60*time.Second, "storehub's API", func() bool {
		if h.Proc.Exited() {
			t.Fatalf("storehub exited:\n%s", h.Proc.Output())
		}
		resp, err := h.http.Get(h.API + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return h
}

// The chain's view of one storehub (chainHub).

// Applied is storehub's count of applied events.
func (h *HubProc) Applied(ctx context.Context) (float64, error) { return h.Metric(ctx, EventsApplied) }

// Broken says why storehub is no longer running, if it is not.
func (h *HubProc) Broken() error {
	if h.Proc.Exited() {
		return fmt.Errorf("storehub exited:\n%s", tail(h.Proc.Output(), 4000))
	}
	return nil
}

// Counters sums the samples of /metrics whose series starts with one of
// prefixes, by series.
func (h *HubProc) Counters(ctx context.Context, prefixes ...string) (map[string]float64, error) {
	out := map[string]float64{}
	err := h.metrics(ctx, func(line string) {
		for _, p := range prefixes {
			if strings.HasPrefix(line, p) {
				if i := strings.LastIndexByte(line, ' '); i > 0 {
					v, _ := strconv.ParseFloat(line[i+1:], 64)
					out[line[:i]] += v
				}
			}
		}
	})
	return out, err
}

// Output is what storehub logged.
func (h *HubProc) Output() string { return h.Proc.Output() }

// Procs is storehub's pid, named.
func (h *HubProc) Procs() []NamedPID { return []NamedPID{{"storehub", h.Proc.Cmd.Process.Pid}} }

// HeapInUse is storehub's Go heap in use.
func (h *HubProc) HeapInUse(ctx context.Context) (int64, error) {
	v, err := h.Metric(ctx, "go_memstats_heap_inuse_bytes")
	return int64(v), err
}

// Stop ends storehub (SIGTERM).
func (h *HubProc) Stop() { h.Proc.Stop(30 * time.Second) }

// NamedPID is a process of the run, by name.
type NamedPID struct {
	Name string
	PID  int
}

func (h *HubProc) get(ctx context.Context, path string, into any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.API+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	resp, err := h.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(into)
}

// Notifications returns up to limit notifications after seq.
func (h *HubProc) Notifications(ctx context.Context, after uint64, limit int) ([]incident.Notification, error) {
	var ns []incident.Notification
	err := h.get(ctx, fmt.Sprintf("/api/v1/notifications?after=%d&limit=%d", after, limit), &ns)
	return ns, err
}

// OnlineAgents counts the agents the hub sees online.
func (h *HubProc) OnlineAgents(ctx context.Context) (int, error) {
	var as []incident.AgentRecord
	err := h.get(ctx, "/api/v1/agents?online=true", &as)
	return len(as), err
}

// Messages returns storehub_messages_total by "channel/outcome".
func (h *HubProc) Messages(ctx context.Context) map[string]float64 {
	out := map[string]float64{}
	_ = h.metrics(ctx, func(line string) {
		rest, ok := strings.CutPrefix(line, "storehub_messages_total{")
		if !ok {
			return
		}
		labels, value, ok := strings.Cut(rest, "} ")
		if !ok {
			return
		}
		var ch, oc string
		for _, kv := range strings.Split(labels, ",") {
			k, v, _ := strings.Cut(kv, "=")
			v = strings.Trim(v, `"`)
			switch k {
			case "channel":
				ch = v
			case "outcome":
				oc = v
			}
		}
		f, _ := strconv.ParseFloat(strings.TrimSpace(value), 64)
		out[ch+"/"+oc] = f
	})
	return out
}

// Metric reads one sample of /metrics, e.g.
// storehub_messages_total{channel="events",outcome="applied"}; absent is 0.
func (h *HubProc) Metric(ctx context.Context, series string) (float64, error) {
	var v float64
	var perr error
	err := h.metrics(ctx, func(line string) {
		if rest, ok := strings.CutPrefix(line, series+" "); ok {
			v, perr = strconv.ParseFloat(strings.TrimSpace(rest), 64)
		}
	})
	if err != nil {
		return 0, err
	}
	return v, perr
}

func (h *HubProc) metrics(ctx context.Context, line func(string)) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.API+"/metrics", nil)
	if err != nil {
		return err
	}
	resp, err := h.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line(sc.Text())
	}
	return sc.Err()
}

// EventsApplied is the hub's count of applied events.
const EventsApplied = `storehub_messages_total{channel="events",outcome="applied"}`
