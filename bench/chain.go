package bench

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// ChainOptions configure one simulated-chain run.
type ChainOptions struct {
	Stores int
	// Broker is "mosquitto" (agents publish to Mosquitto, storehub reads it
	// in external mode), "embedded" (agents connect to storehub itself) or
	// "replicas" (Replicas storehub replicas over a private PostgreSQL and
	// a 3-node nats-server cluster; agents connect to the nodes) or
	// "replicas-mosquitto" (the replicas and the database over Mosquitto:
	// what they take without a broker cluster's limits).
	Broker       string
	MosquittoURL string // for "mosquitto" and "replicas-mosquitto"
	MosquittoPID int    // to sample its CPU during the burst (0: not sampled)
	HubBin       string
	// HubMemoryLimit is storehub's memory_limit; "" the default
	// (DefaultHubMemoryLimit).
	HubMemoryLimit string
	Policy         ChainPolicy
	Timing         EpisodeTiming
	Margin         time.Duration // see Expect
	ConnectRate    float64       // agents starting per second (uplink StartDelay spreads them)
	BurstLimit     time.Duration // the longest the opening burst may take
	OutboxDir      string        // where the simulated agents keep their outboxes
	Seed           uint64
	Log            func(format string, args ...any)
	// The replicas mode: how many, their partitions and lease, and when in
	// the fault mix to kill -9 one of them (0: none is killed).
	Replicas   int
	Partitions int
	Lease      time.Duration
	KillAt     time.Duration
	LogDir     string // where to keep the replicas' and broker nodes' logs ("": not kept)
}

// chainHub is what a chain run needs of storehub: one process (HubProc) or
// several replicas (ReplicaSet).
type chainHub interface {
	Applied(ctx context.Context) (float64, error) // device events applied so far
	OnlineAgents(ctx context.Context) (int, error)
	Notifications(ctx context.Context, after uint64, limit int) ([]incident.Notification, error)
	Messages(ctx context.Context) map[string]float64
	HeapInUse(ctx context.Context) (int64, error)
	Counters(ctx context.Context, prefixes ...string) (map[string]float64, error)
	Broken() error // why a process that should run does not
	Output() string
	Procs() []NamedPID
	Stop()
}

// ChainResult holds a run's figures.
type ChainResult struct {
	Stores, Devices int
	Broker          string
	Connect         time.Duration // until the hub saw every agent online
	// The opening burst: every device of every store reports its first state.
	BurstEvents     int
	BurstWall       time.Duration
	BurstLost       int  // events not at the hub when the burst stalled (see stall) or ran out of time
	BurstCut        bool // the burst ran out of time (BurstLimit)
	BurstLimit      time.Duration
	BurstApplied    int
	IngestRate      float64       // events/s, wall clock, end to end
	HubCPUPerEvent  time.Duration // storehub's CPU time per event during the burst
	SimCPUPerEvent  time.Duration // the simulated agents' (the worker processes)
	MQTTCPUPerEvent time.Duration // Mosquitto's, when used
	// Event to ticket beyond the hold-down, for tickets with a hold-down:
	// EngineP* from the ticket's own opened_at, SeenP* when an API client
	// polling the notification stream saw it.
	Tickets                   int
	EngineP50, EngineP99      time.Duration
	SeenP50, SeenP99, SeenMax time.Duration
	Slowest                   string // the ticket seen latest beyond its hold-down
	SlowestLate               time.Duration
	HubRSSMax, HubRSSEnd      int64
	HubAnonMax                int64
	HubHeapEnd                int64  // storehub's Go heap in use at the end (go_memstats_heap_inuse_bytes)
	HubMemoryLimit            string // the single hub's memory_limit
	Verdict                   Verdict
	Episodes                  map[EpisodeKind]int
	Took                      time.Duration
	HubLog                    string             // storehub's output (warnings and errors)
	AgentLog                  []string           // the simulated agents' warnings, counted
	StuckEvents               int                // events still in the agents' outboxes at the end
	OfflineAtEnd              int                // agents not online a minute after the last episode
	OfflineAtStart            int                // agents the hub did not list online when the connect phase ran out
	HubMessages               map[string]float64 // storehub_messages_total by channel/outcome at the end
	Load                      string
	// Per storehub process (one, or each replica): CPU per event over the
	// burst, RSS at most and at the end.
	Procs []ProcFigures
	// The replicas mode.
	Replicas, Partitions int
	Lease                time.Duration
	PGCPUPerEvent        time.Duration // the PostgreSQL server's (postmaster and backends)
	PG                   PGSizes       // at the end
	Killed               string        // the replica killed during the fault mix
	KilledAt             time.Duration // into the fault mix
	Failover             time.Duration // from the kill until its leases were all held by the others
	CaughtUp             time.Duration // from the kill until the partitions taken over had read their backlog
	FailoverMoved        int           // the leases it held
	FailoverErr          string
	// The hub's requests to agents to publish again what a broker lost
	// (hub/resend) at the end: storehub_resend_requests_total,
	// storehub_resent_messages_total, storehub_sequence_gone_total by
	// series, summed over the replicas (of those still running).
	Resends map[string]float64
}

// ProcFigures are one storehub process's figures in a chain run.
type ProcFigures struct {
	Name           string
	CPUPerEvent    time.Duration
	RSSMax, RSSEnd int64
	AnonMax        int64
}

// stall is how long the burst may make no progress before the events still
// missing are counted as lost.
const stall = 45 * time.Second

// RunChain runs one simulated chain against a fresh storehub: connect every
// store, the opening burst, then the fault mix, and judges the tickets. The
// agents run in worker processes (see ChainWorker), at most
// storesPerWorker each: every agent holds a connection and its outbox file
// open, and a process may hold only so many descriptors.
func RunChain(t testing.TB, o ChainOptions) ChainResult {
	t.Helper()
	began := time.Now()
	res := ChainResult{Stores: o.Stores, Broker: o.Broker, Episodes: map[EpisodeKind]int{}, BurstLimit: o.BurstLimit}
	layout := ChainStore()
	res.Devices = o.Stores * len(layout)

	eps := PlanEpisodes(o.Stores, o.Seed, o.Timing)
	want, err := Expect(o.Policy, eps, o.Margin)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range eps {
		res.Episodes[e.Kind]++
	}

	// The hub, with a signing key the agents know, as storeagent knows
	// remote.hub_public_key: it asks them to publish again what a broker
	// lost after acknowledging it (hub/resend).
	signing, hubKey := SigningKey()
	setup := HubSetup{Bin: o.HubBin, Policy: o.Policy, SigningKey: signing, MemoryLimit: o.HubMemoryLimit, Devices: o.Stores * len(layout)}
	res.HubMemoryLimit = setup.Limit()
	const password = "bench-agent-password"
	var hub chainHub
	var brokerURLs []string
	brokerPIDs := func() []int { return nil }
	var rs *ReplicaSet
	switch o.Broker {
	case "mosquitto":
		setup.External = o.MosquittoURL
		hub, brokerURLs = StartHub(t, setup), []string{o.MosquittoURL}
		if o.MosquittoPID > 0 {
			brokerPIDs = func() []int { return []int{o.MosquittoPID} }
		}
	case "embedded":
		// Few PBKDF2 iterations: 10,000 logins at the default 20,000 would
		// cost minutes of CPU in this run; the iteration count is in the hash.
		h, err := hashPassword(password)
		if err != nil {
			t.Fatal(err)
		}
		setup.Stores, setup.Hash = o.Stores, h
		hp := StartHub(t, setup)
		hub, brokerURLs = hp, []string{hp.MQTT}
	case "replicas", "replicas-mosquitto":
		res.Replicas, res.Partitions, res.Lease = o.Replicas, o.Partitions, o.Lease
		ro := ReplicaOptions{Bin: o.HubBin, Policy: o.Policy, Replicas: o.Replicas, Partitions: o.Partitions, Lease: o.Lease,
			SigningKey: signing, Log: o.Log}
		if o.Broker == "replicas-mosquitto" {
			ro.Brokers = []string{o.MosquittoURL}
		}
		rs = StartReplicas(t, ro)
		hub, brokerURLs, brokerPIDs = rs, ro.Brokers, rs.BrokerPIDs
		if ro.Brokers == nil {
			brokerURLs = rs.NATS.URLs()
		} else if o.MosquittoPID > 0 {
			brokerPIDs = func() []int { return []int{o.MosquittoPID} }
		}
		if o.LogDir != "" {
			// In a cleanup, so that a run that fails keeps them too.
			t.Cleanup(func() {
				if err := rs.KeepLogs(o.LogDir); err != nil {
					t.Errorf("keeping the logs: %v", err)
				}
				o.Log("chain %s: the replicas' and broker nodes' logs are in %s", o.Broker, o.LogDir)
			})
		}
	default:
		t.Fatalf("unknown broker %q", o.Broker)
	}
	procs := hub.Procs()
	stopRSS := sampleRSS(procs, &res)
	defer stopRSS()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The agents, in workers.
	spread := time.Duration(float64(o.Stores) / o.ConnectRate * float64(time.Second))
	nw := (o.Stores + storesPerWorker - 1) / storesPerWorker
	o.Log("chain %s: %d stores x %d devices: %d worker process(es) open the agents' outboxes", o.Broker, o.Stores, len(layout), nw)
	var workers []*workerProc
	for w := range nw {
		spec := WorkerSpec{Lo: w * o.Stores / nw, Hi: (w + 1) * o.Stores / nw, Brokers: brokerURLs, Auth: o.Broker == "embedded",
			Password: password, OutboxDir: o.OutboxDir, Spread: spread, Timing: o.Timing, AgentBackoff: Replicated(o.Broker), HubKey: hubKey}
		for _, e := range eps {
			if e.Store >= spec.Lo && e.Store < spec.Hi {
				spec.Episodes = append(spec.Episodes, e)
			}
		}
		workers = append(workers, startWorker(t, spec))
	}
	all := func(cmd workerCommand) []workerReply {
		out := make([]workerReply, len(workers))
		var wg sync.WaitGroup
		for i, w := range workers {
			wg.Go(func() { out[i] = w.call(cmd) })
		}
		wg.Wait()
		for _, r := range out {
			if r.Error != "" {
				t.Fatalf("chain %s: %s: %s", o.Broker, cmd.Cmd, r.Error)
			}
		}
		return out
	}
	all(workerCommand{Cmd: "ready"})
	connStart := time.Now()
	all(workerCommand{Cmd: "run"})
	o.Log("chain %s: connecting %d agents (spread over %v)", o.Broker, o.Stores, spread.Round(time.Second))
	if n, ok := tryOnline(ctx, hub, o.Stores, spread+2*time.Minute, o.Log); !ok {
		if err := hub.Broken(); err != nil {
			t.Fatal(err)
		}
		// Agents connected but not listed online are a finding (the hub
		// missed their status), not a reason to measure nothing else.
		res.OfflineAtStart = o.Stores - n
		t.Errorf("chain %s: only %d of %d agents online after %v; going on", o.Broker, n, o.Stores, spread+2*time.Minute)
	}
	res.Connect = time.Since(connStart)

	// The opening burst.
	applied0, err := hub.Applied(ctx)
	if err != nil {
		t.Fatal(err)
	}
	res.BurstEvents = o.Stores * len(layout)
	cpu := func() (h []time.Duration, sim, mq, pg time.Duration) {
		for _, p := range procs {
			s, _ := ReadProc(p.PID)
			h = append(h, s.CPU)
		}
		for _, w := range workers {
			if s, err := ReadProc(w.pid()); err == nil {
				sim += s.CPU
			}
		}
		for _, pid := range brokerPIDs() {
			if s, err := ReadProc(pid); err == nil {
				mq += s.CPU
			}
		}
		if rs != nil {
			pg, _ = rs.PostgresCPU()
		}
		return
	}
	hub0, sim0, mq0, pg0 := cpu()
	o.Log("chain %s: opening burst: %d devices report their first state (load %s)", o.Broker, res.BurstEvents, LoadAvg())
	burstStart := time.Now()
	burstDone := make(chan []workerReply, 1)
	go func() {
		out := make([]workerReply, len(workers))
		var wg sync.WaitGroup
		for i, w := range workers {
			wg.Go(func() { out[i] = w.call(workerCommand{Cmd: "burst"}) })
		}
		wg.Wait()
		burstDone <- out
	}()
	target := applied0 + float64(res.BurstEvents)
	last, progressAt, seenN := time.Now(), time.Now(), applied0
	for {
		n, err := hub.Applied(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n >= target {
			break
		}
		if n > seenN {
			seenN, progressAt = n, time.Now()
		}
		if time.Since(last) > 5*time.Second {
			o.Log("chain %s: burst: %.0f of %d events applied (%.0f/s so far, load %s)", o.Broker, n-applied0, res.BurstEvents,
				(n-applied0)/time.Since(burstStart).Seconds(), LoadAvg())
			last = time.Now()
		}
		if err := hub.Broken(); err != nil {
			t.Fatalf("during the burst: %v", err)
		}
		if time.Since(burstStart) > o.BurstLimit {
			res.BurstLost = int(target - n)
			res.BurstCut = true
			t.Errorf("chain %s: burst: %d of %d events applied after %v; going on without the rest", o.Broker, int(n-applied0), res.BurstEvents, o.BurstLimit)
			break
		}
		if time.Since(progressAt) > stall {
			// Every report was committed to an agent's outbox; what does not
			// arrive is a finding, not a reason to wait forever.
			res.BurstLost = int(target - n)
			t.Errorf("chain %s: burst: %d of %d events had not reached storehub after %v without progress; storehub: %v\n%s", o.Broker,
				res.BurstLost, res.BurstEvents, stall, hub.Messages(ctx), tail(hub.Output(), 4000))
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	res.BurstWall = time.Since(burstStart)
	if res.BurstLost > 0 && !res.BurstCut {
		res.BurstWall = progressAt.Sub(burstStart)
	}
	res.BurstApplied = res.BurstEvents - res.BurstLost
	res.IngestRate = float64(res.BurstApplied) / res.BurstWall.Seconds()
	hub1, sim1, mq1, pg1 := cpu()
	per := func(a, b time.Duration) time.Duration { return (b - a) / time.Duration(max(res.BurstApplied, 1)) }
	for i, p := range procs {
		res.Procs[i].Name = p.Name
		res.Procs[i].CPUPerEvent = per(hub0[i], hub1[i])
		res.HubCPUPerEvent += res.Procs[i].CPUPerEvent
	}
	res.SimCPUPerEvent, res.MQTTCPUPerEvent, res.PGCPUPerEvent = per(sim0, sim1), per(mq0, mq1), per(pg0, pg1)
	for _, r := range <-burstDone {
		if r.Error != "" {
			t.Fatalf("chain %s: burst: %s", o.Broker, r.Error)
		}
		if r.Failed > 0 {
			t.Errorf("chain %s: %d opening reports failed", o.Broker, r.Failed)
		}
	}
	o.Log("chain %s: burst: %d events in %v: %.0f events/s; storehub %v CPU/event", o.Broker, res.BurstEvents,
		res.BurstWall.Round(time.Millisecond), res.IngestRate, res.HubCPUPerEvent)

	// The fault mix, with a client following the notification stream.
	seen := followNotifications(ctx, hub)
	phase := time.Now().Add(500 * time.Millisecond)
	o.Log("chain %s: fault mix: %d episodes over %v (%s)", o.Broker, len(eps), o.Timing.Spread+o.Timing.Long, countKinds(res.Episodes))
	killed := make(chan struct{})
	if rs != nil && o.KillAt > 0 {
		go func() {
			defer close(killed)
			time.Sleep(time.Until(phase.Add(o.KillAt)))
			// The holder of the helpdesk delivery, as the replicas tests
			// kill: it holds its partitions and one more lease.
			i := rs.DeliveryHolder(ctx)
			if i < 0 {
				i = 0
			}
			res.Killed, res.KilledAt = rs.Names[i], o.KillAt
			o.Log("chain %s: kill -9 replica %s, %v into the fault mix (load %s)", o.Broker, rs.Names[i], o.KillAt, LoadAvg())
			kill := time.Now()
			took, moved, err := rs.Failover(ctx, i, 2*time.Minute)
			res.Failover, res.FailoverMoved = took, moved
			if err != nil {
				res.FailoverErr = err.Error()
				o.Log("chain %s: failover: %v", o.Broker, err)
				return
			}
			o.Log("chain %s: the %d leases of %s held by the others %v after the kill", o.Broker, moved, rs.Names[i], took.Round(time.Millisecond))
			// The settle below counts from when the partitions taken
			// over decide again: once they read their backlog.
			if err := rs.Listening(ctx, 3*time.Minute); err != nil {
				res.FailoverErr = err.Error()
				o.Log("chain %s: failover: %v", o.Broker, err)
				return
			}
			res.CaughtUp = time.Since(kill)
			o.Log("chain %s: the partitions taken over read their backlog %v after the kill", o.Broker, res.CaughtUp.Round(time.Millisecond))
		}()
	} else {
		close(killed)
	}
	for _, r := range all(workerCommand{Cmd: "faults", Start: phase}) {
		for _, e := range r.Errors {
			t.Errorf("chain %s: %s", o.Broker, e)
		}
	}
	<-killed
	if res.FailoverErr != "" {
		t.Errorf("chain %s: %s", o.Broker, res.FailoverErr)
	}
	// Settle: anything wrongly held down would open within the hold-down,
	// and stores cut off must be back.
	settle := max(o.Policy.HoldDown, o.Policy.OfflineHoldDown) + max(o.Policy.HoldUp, o.Policy.OfflineHoldUp) + 2*time.Second
	o.Log("chain %s: episodes done; settling for %v", o.Broker, settle)
	time.Sleep(settle)
	if n, ok := tryOnline(ctx, hub, o.Stores, time.Minute, o.Log); !ok {
		// Stores still offline are tickets of their own; judge what is there.
		res.OfflineAtEnd = o.Stores - n
		t.Errorf("chain %s: %d of %d agents online a minute after the last episode", o.Broker, n, o.Stores)
	}
	seen.waitQuiet(2*time.Second, 30*time.Second)
	opened, ferr := seen.stop()
	if ferr != nil {
		t.Errorf("chain %s: following notifications: %v", o.Broker, ferr)
	}

	// Judge.
	var ticketKeys []string
	hold := map[string]time.Duration{}
	flapping := map[string]bool{}
	for _, e := range want {
		h := o.Policy.HoldDown
		if e.Fault == wire.FaultAgentOffline {
			h = o.Policy.OfflineHoldDown
		}
		hold[e.Key()] = h
		flapping[e.Key()] = e.Flapping
	}
	var engine, saw []float64
	for _, n := range opened {
		inc := n.n.Incident
		k := TicketKey(inc.Store, inc.Device, inc.Fault)
		if inc.Kind == incident.KindChronic {
			k += "/chronic"
		}
		ticketKeys = append(ticketKeys, k)
		h, ok := hold[k]
		if !ok || flapping[k] {
			continue
		}
		due := inc.FirstSeen.Add(h)
		engine = append(engine, float64(inc.OpenedAt.Sub(due)))
		saw = append(saw, float64(n.at.Sub(due)))
		if late := n.at.Sub(due); late > res.SlowestLate {
			res.SlowestLate, res.Slowest = late, fmt.Sprintf("%s (%s, first seen %s, opened %s)", k, inc.ID,
				inc.FirstSeen.Format("15:04:05.000"), inc.OpenedAt.Format("15:04:05.000"))
		}
	}
	res.Verdict = Judge(want, ticketKeys)
	res.Tickets = len(engine)
	q := func(xs []float64, p float64) time.Duration { return time.Duration(Quantile(xs, p)) }
	res.EngineP50, res.EngineP99 = q(engine, 0.5), q(engine, 0.99)
	res.SeenP50, res.SeenP99, res.SeenMax = q(saw, 0.5), q(saw, 0.99), q(saw, 1)
	hubMessages := hub.Messages(ctx)
	if c, err := hub.Counters(ctx, "storehub_resend_requests_total", "storehub_resent_messages_total", "storehub_sequence_gone_total"); err == nil {
		res.Resends = c
		if len(c) > 0 {
			o.Log("chain %s: resends: %s", o.Broker, messages(c))
		}
	}
	if v, err := hub.HeapInUse(ctx); err == nil {
		res.HubHeapEnd = v
	}
	res.HubLog = hub.Output() // before the stop, which adds its own complaints
	stopRSS()
	for i, p := range procs {
		if s, err := ReadProc(p.PID); err == nil {
			res.Procs[i].RSSEnd = s.RSS
			res.HubRSSEnd = max(res.HubRSSEnd, s.RSS)
		}
	}
	if rs != nil {
		if res.PG, err = rs.Sizes(ctx); err != nil {
			t.Errorf("chain %s: %v", o.Broker, err)
		}
		o.Log("chain %s: PostgreSQL: %d incidents, %.0f bytes each; %d event-log entries, %.0f bytes each; database %.0f MiB",
			o.Broker, res.PG.Incidents, res.PG.PerIncident, res.PG.LogEntries, res.PG.PerLogEntry, mib(res.PG.Database))
	}
	res.Load = LoadAvg()
	o.Log("chain %s: tickets: %d expected, %d opened, %d right; missing %s, duplicate %s, unexpected %s",
		o.Broker, res.Verdict.Expected, res.Verdict.Opened, res.Verdict.Matched, keys(res.Verdict.Missing), keys(res.Verdict.Duplicate), keys(res.Verdict.Unknown))
	o.Log("chain %s: beyond hold-down: engine p50 %v p99 %v; seen p50 %v p99 %v; storehub RSS max %.0f MiB (load %s)",
		o.Broker, res.EngineP50, res.EngineP99, res.SeenP50, res.SeenP99, mib(res.HubRSSMax), res.Load)
	for _, r := range all(workerCommand{Cmd: "stop"}) {
		res.AgentLog = append(res.AgentLog, r.Log...)
		res.StuckEvents += r.Depth
	}
	if len(res.AgentLog) > 0 {
		o.Log("chain %s: the agents' warnings: %s", o.Broker, strings.Join(res.AgentLog, "; "))
	}
	if res.StuckEvents > 0 {
		o.Log("chain %s: %d events were still in the agents' outboxes at the end", o.Broker, res.StuckEvents)
	}
	hub.Stop()
	res.HubMessages = hubMessages
	res.Took = time.Since(began)
	return res
}

func countKinds(m map[EpisodeKind]int) string {
	var ks []string
	for k := range m {
		ks = append(ks, string(k))
	}
	sort.Strings(ks)
	s := ""
	for i, k := range ks {
		if i > 0 {
			s += ", "
		}
		s += fmt.Sprintf("%d %s", m[EpisodeKind(k)], k)
	}
	return s
}

// tryOnline waits until the hub lists n agents online, at most limit; it
// returns the last count and whether it got there.
func tryOnline(ctx context.Context, hub chainHub, n int, limit time.Duration, log func(string, ...any)) (int, bool) {
	deadline := time.Now().Add(limit)
	last := time.Now()
	for {
		c, err := hub.OnlineAgents(ctx)
		if err == nil && c >= n {
			return c, true
		}
		if time.Now().After(deadline) || hub.Broken() != nil {
			return c, false
		}
		if time.Since(last) > 5*time.Second {
			log("  %d of %d agents online (load %s)", c, n, LoadAvg())
			last = time.Now()
		}
		time.Sleep(time.Second)
	}
}

// sampleRSS samples the hub processes' memory every second into res
// (res.Procs, one per process, and the largest in HubRSSMax, HubAnonMax)
// until stopped.
func sampleRSS(procs []NamedPID, res *ChainResult) (stop func()) {
	res.Procs = make([]ProcFigures, len(procs))
	for i, p := range procs {
		res.Procs[i].Name = p.Name
	}
	done := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			for i, p := range procs {
				if s, err := ReadProc(p.PID); err == nil {
					f := &res.Procs[i]
					f.RSSMax, f.AnonMax = max(f.RSSMax, s.RSS), max(f.AnonMax, s.RSSAnon)
					res.HubRSSMax = max(res.HubRSSMax, s.RSS)
					res.HubAnonMax = max(res.HubAnonMax, s.RSSAnon)
				}
			}
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { once.Do(func() { close(done); wg.Wait() }) }
}

type seenNotification struct {
	n  incident.Notification
	at time.Time
}

// follower polls the hub's notification stream as a helpdesk connector
// would, and keeps every "opened" notification with the time it saw it.
type follower struct {
	cancel context.CancelFunc
	done   chan struct{}
	mu     sync.Mutex
	opened []seenNotification
	lastAt time.Time
	err    error
}

const followEvery = 25 * time.Millisecond

func followNotifications(ctx context.Context, hub chainHub) *follower {
	ctx, cancel := context.WithCancel(ctx)
	f := &follower{cancel: cancel, done: make(chan struct{}), lastAt: time.Now()}
	go func() {
		defer close(f.done)
		var after uint64
		for ctx.Err() == nil {
			ns, err := hub.Notifications(ctx, after, 1000)
			now := time.Now()
			if err != nil {
				if ctx.Err() == nil && !errors.Is(err, context.Canceled) {
					f.mu.Lock()
					f.err = err
					f.mu.Unlock()
				}
			}
			f.mu.Lock()
			for _, n := range ns {
				after = max(after, n.Seq)
				if n.Kind == incident.NotifyOpened {
					f.opened = append(f.opened, seenNotification{n, now})
				}
				f.lastAt = now
			}
			f.mu.Unlock()
			if len(ns) < 1000 {
				select {
				case <-ctx.Done():
				case <-time.After(followEvery):
				}
			}
		}
	}()
	return f
}

// waitQuiet waits until no notification arrived for d, at most limit.
func (f *follower) waitQuiet(d, limit time.Duration) {
	end := time.Now().Add(limit)
	for time.Now().Before(end) {
		f.mu.Lock()
		since := time.Since(f.lastAt)
		f.mu.Unlock()
		if since >= d {
			return
		}
		time.Sleep(d - since)
	}
}

func (f *follower) stop() ([]seenNotification, error) {
	f.cancel()
	<-f.done
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.opened, f.err
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// Replicated says whether a chain's broker mode runs several replicas.
func Replicated(broker string) bool { return broker == "replicas" || broker == "replicas-mosquitto" }
