package bench

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

var (
	suite      = flag.String("suite", "", "run the benchmark suite: quick (CI) or full (the numbers); scripts/bench sets it")
	parts      = flag.String("parts", "footprint,outbox,chain", "which parts of the suite to run")
	chains     = flag.String("chains", "", "override the mode's chain runs, e.g. 2000:mosquitto,2000:embedded,2000:replicas")
	replicas   = flag.Int("replicas", 3, "storehub replicas in a replicas chain run (over PostgreSQL and a 3-node nats-server cluster)")
	parts6     = flag.Int("partitions", 6, "cluster.partitions of a replicas chain run")
	lease      = flag.Duration("lease", 4*time.Second, "cluster.lease of a replicas chain run")
	killAt     = flag.Duration("kill-at", 0, "in a replicas chain run, kill -9 a replica this long into the fault mix (0: none)")
	connRate   = flag.Float64("connect-rate", 0, "override the mode's agents connecting per second in the chain runs")
	keepLogs   = flag.String("keep-logs", "", "keep the replicas' and broker nodes' logs of a replicas chain run in this directory")
	write      = flag.String("write", "", "splice the report into this markdown file (docs/benchmarks.md)")
	devices    = flag.String("devices", "", "override the mode's footprint store sizes, e.g. 50,200")
	window     = flag.Duration("window", 0, "override the mode's footprint sampling window")
	windows    = flag.Int("windows", 0, "override the mode's number of footprint sampling windows")
	warmup     = flag.Duration("warmup", 0, "override the mode's footprint warm-up (the agent trims its resident binary 2 minutes after start: 150s measures after that)")
	agentEnv   = flag.String("agent-env", "", "extra environment for storeagent in the footprint part, e.g. GOGC=50 (to see what tuning would give)")
	agentBin   = flag.String("agent", "", "measure this storeagent binary in the footprint part instead of building one (a build of another commit, or one with symbols for perf)")
	hubLimit   = flag.String("hub-memory-limit", "", "storehub's memory_limit in the single-hub chain runs (default: ¾ of 1 GiB, or 1 GiB less what hub.db will take if that is less, as docs/hub.md recommends: "+DefaultHubMemoryLimit(300_000)+" at 10,000 stores)")
	hubBinFlag = flag.String("hub", "", "run this storehub binary in the chain part instead of building one (a build with symbols for perf)")
	cmdline    = flag.String("cmdline", "go test ./bench -run TestSuite -suite ...", "the command line to name in the report")
)

func progress(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s  "+format+"\n", append([]any{time.Now().Format("15:04:05")}, args...)...)
}

func TestSuite(t *testing.T) {
	if *suite == "" {
		t.Skip("the benchmark suite runs with -suite quick|full (scripts/bench)")
	}
	mode, ok := Modes[*suite]
	if !ok {
		t.Fatalf("-suite %q: want quick or full", *suite)
	}
	if *chains != "" {
		mode.Chains = nil
		for _, c := range strings.Split(*chains, ",") {
			n, broker, _ := strings.Cut(c, ":")
			stores, err := strconv.Atoi(n)
			if err != nil || (broker != "mosquitto" && broker != "embedded" && !Replicated(broker)) {
				t.Fatalf("-chains %q: want STORES:mosquitto, STORES:embedded, STORES:replicas or STORES:replicas-mosquitto", c)
			}
			mode.Chains = append(mode.Chains, ChainRun{stores, broker})
		}
	}
	if *devices != "" {
		mode.Devices = nil
		for _, d := range strings.Split(*devices, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(d))
			if err != nil || n < 1 {
				t.Fatalf("-devices %q: want numbers like 10,50,200", *devices)
			}
			mode.Devices = append(mode.Devices, n)
		}
	}
	if *window > 0 {
		mode.Window = *window
	}
	if *warmup > 0 {
		mode.Warmup = *warmup
	}
	if *windows > 0 {
		mode.Windows = *windows
	}
	if *connRate > 0 {
		mode.ConnectRate = *connRate
	}
	raiseFileLimit(t)
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	rep := Report{Mode: *suite, Command: *cmdline, Started: time.Now(), Machine: ThisMachine(), LoadStart: LoadAvg(),
		Policy: mode.Policy, Timing: mode.Timing, ConnectRate: mode.ConnectRate}
	progress("benchmark suite, %s mode, on %s (%d cores, %s); load %s", *suite, rep.Machine.CPU, rep.Machine.Cores, rep.Machine.Memory, rep.LoadStart)

	run := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		run[strings.TrimSpace(p)] = true
	}
	bin := t.TempDir()
	agent, hubBin := *agentBin, *hubBinFlag
	if agent == "" {
		progress("building storeagent (release flags: CGO_ENABLED=0, -trimpath, -s -w)")
		if agent, err = BuildRelease(root, bin, "storeagent"); err != nil {
			t.Fatal(err)
		}
	}
	if run["chain"] && hubBin == "" {
		progress("building storehub (release flags)")
		if hubBin, err = BuildRelease(root, bin, "storehub"); err != nil {
			t.Fatal(err)
		}
	}
	zabbix := testenv.LookPath(t, "zabbix_agent2")
	mosq := testenv.LookPath(t, "mosquitto")
	rep.Versions = []string{
		"Go " + runtime.Version(),
		"Mosquitto " + firstField(Output(mosq, "-h"), "version"),
		"zabbix_agent2 " + firstField(Output(zabbix, "-V"), "(Zabbix)"),
		"commit " + commit(root),
	}
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{Config: MosquittoTuning})

	if run["footprint"] {
		rep.FootprintSetup = FootprintOptions{Devices: mode.Devices, Interval: 5 * time.Second, Warmup: mode.Warmup, Window: mode.Window, Windows: mode.Windows,
			Every: time.Second, Agent: agent, Zabbix: zabbix, Broker: m.URL, Log: progress}
		if *agentEnv != "" {
			rep.FootprintSetup.AgentEnv = strings.Fields(*agentEnv)
		}
		rep.Footprint = RunFootprint(t, rep.FootprintSetup)
		what := "this commit, linux/amd64, as packaged (CGO off, -trimpath, -s -w)"
		if *agentBin != "" {
			what = "given with -agent: " + *agentBin
		}
		rep.Sizes = []BinarySize{{"storeagent", what, fileSize(t, agent)},
			{"zabbix_agent2", "Debian 12 package (" + zabbix + ")", fileSize(t, zabbix)}}
		for _, f := range rep.Footprint {
			for i, w := range f.Windows {
				if f.AgentOK < f.Devices || w.ZabbixValues == 0 || (f.AgentTCPDevices > 0 && w.AgentTCPChecks == 0) {
					t.Errorf("footprint at %d devices, window %d: %d devices ok, %d TCP probes, %d zabbix values: a peer did not do its work",
						f.Devices, i+1, f.AgentOK, w.AgentTCPChecks, w.ZabbixValues)
				}
			}
		}
	}
	if run["outbox"] {
		progress("outbox: the uplink's benchmarks, %d runs (load %s)", mode.OutboxCount, LoadAvg())
		rows, lines, err := RunOutbox(root, mode.OutboxEvents, mode.OutboxCount)
		if err != nil {
			t.Fatal(err)
		}
		rep.Outbox = rows
		for i, r := range rows {
			progress("outbox run %d: append %.0f events/s, %.0f B/event on disk, drain %.0f msg/s vs mosquitto_pub %.0f msg/s (%.2fx)",
				i+1, r.AppendRate, r.FileBytes, r.DrainRate, r.PubRate, r.Ratio)
		}
		t.Logf("outbox: %s", strings.Join(lines, "; "))
	}
	if run["chain"] {
		for _, c := range mode.Chains {
			r := RunChain(t, ChainOptions{
				Stores: c.Stores, Broker: c.Broker, MosquittoURL: m.URL, MosquittoPID: m.PID(), HubBin: hubBin, HubMemoryLimit: *hubLimit,
				Policy: mode.Policy, Timing: mode.Timing, Margin: mode.Margin, ConnectRate: mode.ConnectRate, BurstLimit: mode.BurstLimit,
				OutboxDir: tmpfs(), Seed: 42, Log: progress,
				Replicas: *replicas, Partitions: *parts6, Lease: *lease, KillAt: *killAt, LogDir: *keepLogs,
			})
			rep.Chains = append(rep.Chains, r)
			if !r.Verdict.Correct() {
				t.Errorf("chain %s, %d stores: tickets not as injected: %+v", c.Broker, c.Stores, r.Verdict)
			}
		}
	}
	rep.Took = time.Since(rep.Started)
	rep.LoadEnd = LoadAvg()
	md := rep.Markdown()
	fmt.Fprintf(os.Stderr, "\n%s\n", md)
	if *write != "" {
		old, err := os.ReadFile(*write)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if err := os.WriteFile(*write, []byte(Splice(string(old), md)), 0o644); err != nil {
			t.Fatal(err)
		}
		progress("wrote %s", *write)
	}
}

func fileSize(t *testing.T, path string) int64 {
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return st.Size()
}

// firstField returns the word after marker in the first line of out that
// has it ("mosquitto version 2.0.11" → "2.0.11").
func firstField(out, marker string) string {
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		for i, w := range f {
			if w == marker && i+1 < len(f) {
				return f[i+1]
			}
		}
	}
	return "?"
}

// commit is the checked-out commit, marked -dirty with local changes.
func commit(root string) string {
	c := Output("git", "-C", root, "rev-parse", "--short=12", "HEAD")
	if Output("git", "-C", root, "status", "--porcelain", "--untracked-files=no") != "" {
		c += "-dirty"
	}
	return c
}

// tmpfs is where simulated agents keep their outboxes: each real store has
// its own disk, so their fsyncs should not queue on this machine's one.
func tmpfs() string {
	if st, err := os.Stat("/dev/shm"); err == nil && st.IsDir() {
		return "/dev/shm"
	}
	return os.TempDir()
}

// raiseFileLimit lifts RLIMIT_NOFILE for this process and the programs it
// starts (Mosquitto and storehub hold one descriptor per agent connection).
func raiseFileLimit(t *testing.T) {
	var l syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Fatal(err)
	}
	want := uint64(200_000)
	if l.Max < want && os.Geteuid() == 0 {
		l.Max = want
	}
	l.Cur = min(want, l.Max)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &l); err != nil {
		t.Logf("cannot raise the open-file limit: %v", err)
	}
}

var chainWorker = flag.Bool("chain-worker", false, "run as a chain worker (started by RunChain)")

// TestChainWorker is the entry point of the chain's worker processes: the
// harness runs this test binary again with -chain-worker.
func TestChainWorker(t *testing.T) {
	if !*chainWorker {
		t.Skip("started by the benchmark suite's chain runs")
	}
	if err := ChainWorker(os.Stdin, os.NewFile(3, "replies")); err != nil {
		t.Fatal(err)
	}
}
