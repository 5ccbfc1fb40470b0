package demo

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/wire"
)

// The virtual store's identity on the wire.
const (
	tenant  = "acme"
	storeID = "s0042"
	agentID = "backoffice"
)

// Store-time settings of the demo's agent: a store that is polled every
// 15 seconds (the default is 30) so the day's short faults are seen.
const (
	pollEvery     = 15 * time.Second
	probeTimeout  = 5 * time.Second
	agentGrace    = 2 * time.Minute
	telemetryTick = time.Minute
	hostEvery     = time.Minute
	// outboxCommitEvery is the uplink's default least time between two
	// outbox commits; the demo compresses it too.
	outboxCommitEvery = 250 * time.Millisecond
)

// Floors under the compressed agent timings: a probe must have time to get
// its answer on a busy machine, and the host checks cost more than a probe.
// Telemetry (heartbeat and samples) keeps storeagent's own minimum: it is not
// part of the story, and the outbox commits an event at once only after a
// quiet spell (otherwise it groups commits 250ms apart), so frequent
// telemetry would delay every event by up to half a store minute.
const (
	minTimeout   = 300 * time.Millisecond
	minInterval  = 20 * time.Millisecond
	minHostEvery = time.Second
	minTelemetry = 5 * time.Second
)

func q(s string) string { return strconv.Quote(s) }

// agentYAML is the store's agent configuration in store time, as a real
// store would have it (it passes `storeagent config check`).
func agentYAML(st site, devs []*device, brokerURL, password, hubKey, dir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `# storeagent configuration of the demo's virtual store, in store time.
# storewatch-demo divides every duration below (and duration options such as
# unstable_after) by --speed after loading it: see cmd/storewatch-demo/internal/demo.
tenant: %s
store: %s
agent: %s
site:
  name: %s
  address: %s
  country: %s
  timezone: %s
  hours:
`, tenant, storeID, agentID, q("Acme "+st.city+" Demo Store"), q("1 Market Street, "+st.city), st.country, st.zone)
	hours := st.hours()
	for _, k := range sortedKeys(hours) {
		fmt.Fprintf(&b, "    %s: %s\n", k, q(hours[k]))
	}
	fmt.Fprintf(&b, `broker:
  urls: [%s]
  username: %s
  password: %s
outbox:
  path: %s
polling:
  interval: %v
  timeout: %v
  debounce: 2
  grace: %v
telemetry:
  interval: %v
remote:
  hub_public_key: %s
  audit_log: %s
host:
  interval: %v
  location: back office
  disks:
    - {path: %s, min_free_percent: 1}
  min_memory_available_percent: 1
devices:
`, q(brokerURL), q(tenant+"-"+storeID+"-"+agentID), q(password), q(filepath.Join(dir, "outbox.db")),
		pollEvery, probeTimeout, agentGrace, telemetryTick, q(hubKey), q(filepath.Join(dir, "audit.log")), hostEvery, q(dir))
	for _, d := range devs {
		s := d.spec
		fmt.Fprintf(&b, "  - id: %s\n    kind: %s\n    driver: %s\n    address: %s\n    location: %s\n    criticality: %s\n",
			s.ID, s.Kind, s.Driver, q(d.address()), q(s.Location), s.Criticality)
		if len(s.Options) > 0 {
			b.WriteString("    options:\n")
			for _, k := range sortedKeys(s.Options) {
				fmt.Fprintf(&b, "      %s: %s\n", k, q(s.Options[k]))
			}
		}
	}
	return b.String()
}

// hubYAML is the hub's configuration, with the built-in policy (10 minutes
// of grace, the hold-downs of docs/hub.md) in store time.
func hubYAML(dataDir, listen, token, passwordHash string) string {
	return fmt.Sprintf(`# storehub configuration of the demo, in store time. storewatch-demo divides
# every policy duration by --speed after loading it: see cmd/storewatch-demo/internal/demo.
data_dir: %s
api:
  listen: %s
  tokens:
    - {name: demo, role: admin, token: %s}
broker:
  mode: embedded
  embedded: {listen: "127.0.0.1:0"}
agents:
  - {tenant: %s, store: %s, agent: %s, password_hash: %s}
policy:
  grace: 10m
`, q(dataDir), q(listen), q(token), tenant, storeID, agentID, q(passwordHash))
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// writeConfig writes a configuration file into the data directory, so what
// the demo runs can be read there.
func writeConfig(path, text string) error {
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		return fmt.Errorf("demo: %w", err)
	}
	return nil
}

// compressAgent divides the agent's durations by the speed. Only the demo
// polls faster than storeagent's one-second minimum: the files stay real.
func compressAgent(cfg *config.Agent, c dayClock) {
	at := func(d, floor time.Duration) time.Duration { return max(c.compress(d), floor) }
	cfg.Polling.Interval = at(cfg.Polling.Interval, minInterval)
	cfg.Polling.Timeout = at(cfg.Polling.Timeout, minTimeout)
	cfg.Polling.Grace = c.compress(cfg.Polling.Grace)
	cfg.Telemetry.Interval = at(cfg.Telemetry.Interval, minTelemetry)
	for i := range cfg.Devices {
		d := &cfg.Devices[i]
		d.Interval = at(d.Interval, minInterval)
		d.Timeout = at(d.Timeout, minTimeout)
		for k, v := range d.Options {
			if dur, err := time.ParseDuration(v); err == nil {
				d.Options[k] = c.compress(dur).String()
			}
		}
	}
	if cfg.Host != nil {
		cfg.Host.Interval = at(cfg.Host.Interval, minHostEvery)
	}
}

// compressHub divides the hub's policy by the speed: grace, replay settle,
// flapping and chronic windows, and the hold-down and hold-up of every fault
// code that can open an incident (the demo's file has no per-kind rules).
// late is how long before the demo's start
// the store's opening minute began; the grace is stretched by it, so it ends
// exactly grace (store time) after the demo starts.
func compressHub(cfg *hub.Config, c dayClock, late time.Duration, st site) {
	p := cfg.Policy.Policy() // the effective policy: defaults and the file
	cp := &cfg.Policy
	// The console and the timeline say times and durations in store time,
	// as the demo's own lines do: the start is 08:00 in the store.
	y, m, d := st.opened.Date()
	cp.Display = incident.TimeScale{Origin: c.start, StoreOrigin: time.Date(y, m, d, 0, 0, 0, 0, st.opened.Location()).Add(opening), Speed: c.speed}
	cp.Grace = late + c.compress(p.Grace)
	cp.ReplaySettle = c.compress(p.ReplaySettle)
	cp.Flap.Window, cp.Flap.Quiet, cp.Flap.Threshold = c.compress(p.FlapWindow), c.compress(p.FlapQuiet), p.FlapThreshold
	cp.Chronic.Window, cp.Chronic.MinDuration, cp.Chronic.Count = c.compress(p.ChronicWindow), c.compress(p.ChronicMin), p.ChronicCount
	rules := map[string]incident.RuleConfig{}
	for _, f := range wire.Vocabulary() {
		r := p.For("", f.Code)
		if r.Never {
			continue
		}
		down, up, chronic := c.compress(r.HoldDown), c.compress(r.HoldUp), r.Chronic
		rules[string(f.Code)] = incident.RuleConfig{HoldDown: &down, HoldUp: &up, OnRecovery: string(r.OnRecovery), Chronic: &chronic}
	}
	cp.Rules = rules
}

// signingKey returns the public half (base64, as remote.hub_public_key wants
// it) of the Ed25519 key that signs the hub's remote queries, creating the
// key (PEM, PKCS #8, mode 0600) at path if there is none. path is where the
// hub looks for its key by default (data_dir/signing_key.pem), so a hub that
// signs queries uses this one and the demo's agent accepts them.
func signingKey(path string) (string, error) {
	k, _, err := query.LoadOrCreateKey(path)
	if err != nil {
		return "", fmt.Errorf("demo: %w", err)
	}
	return k.PublicKey(), nil
}
