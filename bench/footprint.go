package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// FootprintOptions configure the agent footprint comparison.
type FootprintOptions struct {
	Devices  []int         // store sizes, e.g. 10, 50, 200
	Interval time.Duration // poll interval of both agents (5s)
	Warmup   time.Duration // from start until sampling begins
	Window   time.Duration // one sampling window
	Windows  int           // sampling windows per store size (their median is the figure)
	Every    time.Duration // sampling interval
	Agent    string        // the storeagent binary
	Zabbix   string        // the zabbix_agent2 binary
	Broker   string        // a Mosquitto URL for storeagent
	AgentEnv []string      // extra environment for storeagent ("GOGC=50")
	Log      func(format string, args ...any)
}

// FootprintWindow is one sampling window: both agents sampled over the
// same seconds, and the machine's load average as it began and ended.
type FootprintWindow struct {
	Agent, Zabbix Footprint
	// Checks done during the window: TCP connections storeagent's TCP
	// devices accepted (serial devices are probed over their PTY), and
	// values zabbix_agent2 reported.
	AgentTCPChecks, ZabbixValues int
	LoadStart, LoadEnd           string
}

// Ratios are storeagent's figures over zabbix_agent2's.
func (w FootprintWindow) Ratios() (cpu, rss, pss float64) {
	return w.Agent.CPUMean / w.Zabbix.CPUMean, float64(w.Agent.RSSMedian) / float64(w.Zabbix.RSSMedian),
		float64(w.Agent.PssMedian) / float64(w.Zabbix.PssMedian)
}

// FootprintRow is one store size: both agents running at once against the
// same emulated store, sampled over several windows.
type FootprintRow struct {
	Devices int
	Windows []FootprintWindow
	// Agent and Zabbix are the medians over the windows of each figure;
	// the ratios are the medians of the windows' ratios.
	Agent, Zabbix                Footprint
	CPURatio, RSSRatio, PssRatio float64
	AgentTCPDevices              int
	// Agent states: devices that reached ok before sampling.
	AgentOK int
}

// RunFootprint measures storeagent and zabbix_agent2 at the same time, for
// each store size, against the same emulated devices (each agent on
// endpoints of its own), over several windows.
func RunFootprint(t testing.TB, o FootprintOptions) []FootprintRow {
	t.Helper()
	var rows []FootprintRow
	for _, n := range o.Devices {
		rows = append(rows, footprintSize(t, o, n))
	}
	return rows
}

func footprintSize(t testing.TB, o FootprintOptions, n int) FootprintRow {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := ServeStore(ctx, n)
	if err != nil {
		t.Fatalf("serve %d devices: %v", n, err)
	}
	defer st.Close()
	row := FootprintRow{Devices: n}
	for _, d := range st.Devices {
		if strings.HasPrefix(d.Address, "tcp://") {
			row.AgentTCPDevices++
		}
	}
	start := time.Now()
	agent := startStoreagent(t, o, st)
	defer agent.stop(t)
	zbx := startZabbix(t, o, st)
	defer zbx.stop()
	row.AgentOK = agent.waitOK(t, o, n)
	zbx.waitValues(t, o)
	if rest := o.Warmup - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	windows := max(o.Windows, 1)
	for i := range windows {
		w := FootprintWindow{LoadStart: LoadAvg()}
		agentBefore := st.AgentAccepted()
		zbx.server.Count(true)
		var as, zs []ProcSample
		var aerr, zerr error
		var wg sync.WaitGroup
		wg.Go(func() { as, aerr = SampleProc(agent.p.Cmd.Process.Pid, o.Every, o.Window) })
		wg.Go(func() { zs, zerr = SampleProc(zbx.p.Cmd.Process.Pid, o.Every, o.Window) })
		wg.Wait()
		if aerr != nil {
			t.Fatalf("storeagent: %v\n%s", aerr, agent.p.Output())
		}
		if zerr != nil {
			t.Fatalf("zabbix_agent2: %v\n%s", zerr, zbx.p.Output())
		}
		w.ZabbixValues = zbx.server.Count(false)
		w.AgentTCPChecks = st.AgentAccepted() - agentBefore
		w.Agent, w.Zabbix = Summarise(as), Summarise(zs)
		w.LoadEnd = LoadAvg()
		row.Windows = append(row.Windows, w)
		cpu, _, pss := w.Ratios()
		o.Log("footprint N=%d window %d/%d: storeagent CPU %s Pss %.1f MiB, zabbix_agent2 CPU %s Pss %.1f MiB; ratios CPU %.2f× Pss %.2f× (load %s → %s)",
			n, i+1, windows, pct(w.Agent.CPUMean), mib(w.Agent.PssMedian), pct(w.Zabbix.CPUMean), mib(w.Zabbix.PssMedian), cpu, pss, w.LoadStart, w.LoadEnd)
	}
	row.summarise()
	return row
}

// summarise takes the medians over the row's windows.
func (r *FootprintRow) summarise() {
	var as, zs []Footprint
	var cpu, rss, pss []float64
	for _, w := range r.Windows {
		as, zs = append(as, w.Agent), append(zs, w.Zabbix)
		c, m, p := w.Ratios()
		cpu, rss, pss = append(cpu, c), append(rss, m), append(pss, p)
	}
	r.Agent, r.Zabbix = MedianFootprint(as), MedianFootprint(zs)
	r.CPURatio, r.RSSRatio, r.PssRatio = Quantile(cpu, 0.5), Quantile(rss, 0.5), Quantile(pss, 0.5)
}

// MedianFootprint is the median, figure by figure, of several windows'
// footprints (maxima stay maxima).
func MedianFootprint(fs []Footprint) Footprint {
	med := func(get func(Footprint) float64) float64 {
		var xs []float64
		for _, f := range fs {
			xs = append(xs, get(f))
		}
		return Quantile(xs, 0.5)
	}
	top := func(get func(Footprint) float64) float64 {
		var xs []float64
		for _, f := range fs {
			xs = append(xs, get(f))
		}
		return Quantile(xs, 1)
	}
	var out Footprint
	if len(fs) == 0 {
		return out
	}
	for _, f := range fs {
		out.Samples += f.Samples
		out.Window += f.Window
	}
	out.RSSMedian = int64(med(func(f Footprint) float64 { return float64(f.RSSMedian) }))
	out.RSSMax = int64(top(func(f Footprint) float64 { return float64(f.RSSMax) }))
	out.AnonMedian = int64(med(func(f Footprint) float64 { return float64(f.AnonMedian) }))
	out.AnonMax = int64(top(func(f Footprint) float64 { return float64(f.AnonMax) }))
	out.PssMedian = int64(med(func(f Footprint) float64 { return float64(f.PssMedian) }))
	out.PssMax = int64(top(func(f Footprint) float64 { return float64(f.PssMax) }))
	out.PssAnonMedian = int64(med(func(f Footprint) float64 { return float64(f.PssAnonMedian) }))
	out.PssFileMedian = int64(med(func(f Footprint) float64 { return float64(f.PssFileMedian) }))
	out.CPUMean = med(func(f Footprint) float64 { return f.CPUMean })
	out.CPUMedian = med(func(f Footprint) float64 { return f.CPUMedian })
	out.CPUMax = top(func(f Footprint) float64 { return f.CPUMax })
	return out
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

type runningAgent struct {
	p *testenv.Process
	w *Watcher
}

func startStoreagent(t testing.TB, o FootprintOptions, st *SimStore) *runningAgent {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "agent.yaml")
	if err := os.WriteFile(cfg, []byte(st.AgentConfig(o.Broker, filepath.Join(dir, "outbox.db"), o.Interval.String())), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Watch(o.Broker)
	if err != nil {
		t.Fatal(err)
	}
	p := testenv.StartEnv(t, o.AgentEnv, o.Agent, "run", "--config", cfg)
	return &runningAgent{p: p, w: w}
}

// waitOK waits until every device has reported ok (at most the warm-up
// and a minute) and returns how many did.
func (a *runningAgent) waitOK(t testing.TB, o FootprintOptions, n int) int {
	t.Helper()
	o.Log("storeagent with %d devices: waiting until every device reports ok", n)
	ok := func() int {
		c := 0
		for _, s := range a.w.States() {
			if s == wire.StateOK {
				c++
			}
		}
		return c
	}
	deadline := time.Now().Add(o.Warmup + 60*time.Second)
	for ok() < n && time.Now().Before(deadline) && !a.p.Exited() {
		time.Sleep(100 * time.Millisecond)
	}
	good := ok()
	if good < n {
		var bad []string
		for id, s := range a.w.States() {
			if s != wire.StateOK {
				bad = append(bad, id+"="+string(s))
			}
		}
		sort.Strings(bad)
		t.Errorf("storeagent: %d of %d devices ok before sampling; others: %v (not reported: %d)\n%s", good, n, bad, n-len(a.w.States()), a.p.Output())
	}
	if inv := a.w.Invalid(); len(inv) > 0 {
		t.Errorf("storeagent published invalid events: %v", inv)
	}
	return good
}

func (a *runningAgent) stop(t testing.TB) {
	defer a.w.Close()
	a.p.Signal(syscall.SIGTERM)
	if err := a.p.Wait(15 * time.Second); err != nil {
		t.Errorf("storeagent did not stop: %v", err)
	}
	a.p.Stop(10 * time.Second)
}

// zabbixConfig is a minimal zabbix_agent2 configuration: active checks
// only (no passive listener), from the harness's server, logging to a file.
func zabbixConfig(dir, server string, interval time.Duration) string {
	return strings.Join([]string{
		"LogType=file",
		"LogFile=" + filepath.Join(dir, "zabbix_agent2.log"),
		"DebugLevel=3",
		"Server=",
		"ServerActive=" + server,
		"Hostname=bench-store",
		"RefreshActiveChecks=60",
		fmt.Sprintf("BufferSend=%d", int(interval.Seconds())),
		"ControlSocket=" + filepath.Join(dir, "agent.sock"),
		"PidFile=" + filepath.Join(dir, "agent.pid"),
	}, "\n") + "\n"
}

type runningZabbix struct {
	p      *testenv.Process
	server *ZabbixServer
	keys   []string
	dir    string
}

func startZabbix(t testing.TB, o FootprintOptions, st *SimStore) *runningZabbix {
	t.Helper()
	keys := st.ZabbixKeys()
	z, err := StartZabbixServer(keys, o.Interval)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zabbix_agent2.conf")
	if err := os.WriteFile(cfg, []byte(zabbixConfig(dir, z.Addr, o.Interval)), 0o644); err != nil {
		z.Close()
		t.Fatal(err)
	}
	p := testenv.Start(t, o.Zabbix, "-c", cfg, "-f")
	return &runningZabbix{p: p, server: z, keys: keys, dir: dir}
}

// waitValues waits until zabbix_agent2 has sent a value of every item (at
// most the warm-up and a minute) and checks that each says the port is up.
func (z *runningZabbix) waitValues(t testing.TB, o FootprintOptions) {
	t.Helper()
	o.Log("zabbix_agent2 with %d net.tcp.service checks: waiting for a value of every item", len(z.keys))
	all := func() bool {
		for _, k := range z.keys {
			if len(z.server.Values(k)) == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(o.Warmup + 60*time.Second)
	for !all() && time.Now().Before(deadline) && !z.p.Exited() {
		time.Sleep(100 * time.Millisecond)
	}
	if !all() {
		log, _ := os.ReadFile(filepath.Join(z.dir, "zabbix_agent2.log"))
		t.Fatalf("zabbix_agent2 did not report every item (%d active-check requests)\n%s\n%s", z.server.Requests(), z.p.Output(), log)
	}
	for _, k := range z.keys {
		for _, v := range z.server.Values(k) {
			if v != "1" {
				t.Errorf("zabbix_agent2: %s = %q, want 1 (the endpoint is up)", k, v)
				break
			}
		}
	}
}

func (z *runningZabbix) stop() {
	z.p.Stop(10 * time.Second)
	z.server.Close()
}
