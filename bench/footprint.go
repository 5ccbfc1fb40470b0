package bench

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
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
	Window   time.Duration // sampling window
	Every    time.Duration // sampling interval
	Agent    string        // the storeagent binary
	Zabbix   string        // the zabbix_agent2 binary
	Broker   string        // a Mosquitto URL for storeagent
	AgentEnv []string      // extra environment for storeagent ("GOGC=50")
	Log      func(format string, args ...any)
}

// FootprintRow is one store size: both agents' figures over the same
// window length, and the work they did in it.
type FootprintRow struct {
	Devices int
	Agent   Footprint
	Zabbix  Footprint
	// Checks done during the window: TCP connections the emulators accepted
	// from storeagent (its TCP devices only: serial devices are probed over
	// the PTY), and values zabbix_agent2 reported.
	AgentTCPChecks, ZabbixValues int
	AgentTCPDevices              int
	// Agent states: devices that reached ok before sampling.
	AgentOK int
}

// RunFootprint measures storeagent and zabbix_agent2, one after the other,
// for each store size, against the same emulated devices.
func RunFootprint(t testing.TB, o FootprintOptions) []FootprintRow {
	t.Helper()
	var rows []FootprintRow
	for _, n := range o.Devices {
		ctx, cancel := context.WithCancel(context.Background())
		st, err := ServeStore(ctx, n)
		if err != nil {
			cancel()
			t.Fatalf("serve %d devices: %v", n, err)
		}
		row := FootprintRow{Devices: n}
		for _, d := range st.Devices {
			if strings.HasPrefix(d.Address, "tcp://") {
				row.AgentTCPDevices++
			}
		}
		row.Agent, row.AgentTCPChecks, row.AgentOK = runStoreagent(t, o, st)
		row.Zabbix, row.ZabbixValues = runZabbix(t, o, st)
		st.Close()
		cancel()
		rows = append(rows, row)
		o.Log("footprint N=%d: storeagent RSS median %.1f MiB, zabbix_agent2 %.1f MiB (load %s)",
			n, mib(row.Agent.RSSMedian), mib(row.Zabbix.RSSMedian), LoadAvg())
	}
	return rows
}

func mib(b int64) float64 { return float64(b) / (1 << 20) }

func runStoreagent(t testing.TB, o FootprintOptions, st *SimStore) (Footprint, int, int) {
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
	defer w.Close()
	start := time.Now()
	p := testenv.StartEnv(t, o.AgentEnv, o.Agent, "run", "--config", cfg)
	defer p.Stop(10 * time.Second)
	n := len(st.Devices)
	o.Log("storeagent with %d devices: waiting until every device reports ok", n)
	ok := func() int {
		c := 0
		for _, s := range w.States() {
			if s == wire.StateOK {
				c++
			}
		}
		return c
	}
	deadline := time.Now().Add(o.Warmup + 60*time.Second)
	for ok() < n && time.Now().Before(deadline) && !p.Exited() {
		time.Sleep(100 * time.Millisecond)
	}
	good := ok()
	if good < n {
		var bad []string
		for id, s := range w.States() {
			if s != wire.StateOK {
				bad = append(bad, id+"="+string(s))
			}
		}
		sort.Strings(bad)
		t.Errorf("storeagent: %d of %d devices ok before sampling; others: %v (not reported: %d)\n%s", good, n, bad, n-len(w.States()), p.Output())
	}
	if inv := w.Invalid(); len(inv) > 0 {
		t.Errorf("storeagent published invalid events: %v", inv)
	}
	if rest := o.Warmup - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	before := st.Accepted()
	ss, err := SampleProc(p.Cmd.Process.Pid, o.Every, o.Window)
	if err != nil {
		t.Fatalf("storeagent: %v\n%s", err, p.Output())
	}
	checks := st.Accepted() - before
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(15 * time.Second); err != nil {
		t.Errorf("storeagent did not stop: %v", err)
	}
	return Summarise(ss), checks, good
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

func runZabbix(t testing.TB, o FootprintOptions, st *SimStore) (Footprint, int) {
	t.Helper()
	keys := st.ZabbixKeys()
	z, err := StartZabbixServer(keys, o.Interval)
	if err != nil {
		t.Fatal(err)
	}
	defer z.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "zabbix_agent2.conf")
	if err := os.WriteFile(cfg, []byte(zabbixConfig(dir, z.Addr, o.Interval)), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p := testenv.Start(t, o.Zabbix, "-c", cfg, "-f")
	defer p.Stop(10 * time.Second)
	o.Log("zabbix_agent2 with %d net.tcp.service checks: waiting for a value of every item", len(keys))
	all := func() bool {
		for _, k := range keys {
			if len(z.Values(k)) == 0 {
				return false
			}
		}
		return true
	}
	deadline := time.Now().Add(o.Warmup + 60*time.Second)
	for !all() && time.Now().Before(deadline) && !p.Exited() {
		time.Sleep(100 * time.Millisecond)
	}
	if !all() {
		log, _ := os.ReadFile(filepath.Join(dir, "zabbix_agent2.log"))
		t.Fatalf("zabbix_agent2 did not report every item (%d active-check requests)\n%s\n%s", z.Requests(), p.Output(), log)
	}
	for _, k := range keys {
		for _, v := range z.Values(k) {
			if v != "1" {
				t.Errorf("zabbix_agent2: %s = %q, want 1 (the endpoint is up)", k, v)
				break
			}
		}
	}
	if rest := o.Warmup - time.Since(start); rest > 0 {
		time.Sleep(rest)
	}
	before := st.Accepted()
	z.Count(true)
	ss, err := SampleProc(p.Cmd.Process.Pid, o.Every, o.Window)
	if err != nil {
		t.Fatalf("zabbix_agent2: %v\n%s", err, p.Output())
	}
	values := z.Count(false)
	_ = st.Accepted() - before
	p.Stop(10 * time.Second)
	return Summarise(ss), values
}
