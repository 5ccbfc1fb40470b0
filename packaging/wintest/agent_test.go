//go:build wine

package wintest

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/devsim/zpl"
	"github.com/storewatch/storewatch/internal/testkit/agenttest"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/wine"
	"github.com/storewatch/storewatch/uplink"
	"github.com/storewatch/storewatch/wire"
)

// storeagent.exe starts under Wine and says what it is: the version
// scripts/package stamped, built by Go for windows/amd64.
func TestVersion(t *testing.T) {
	p := wine.Use(t)
	r := must(t, p.Run(t, storeagentExe(t), "version"), 0, "storeagent.exe version")
	if !regexp.MustCompile(`^storeagent \S+ \(commit \S+, built \S+, go1\.\d+(\.\d+)? windows/amd64\)\r?\n$`).MatchString(r.Stdout) {
		t.Errorf("version says %q", r.Stdout)
	}
	if dist := distDir(); dist != "" {
		info := string(testenv.ReadFile(t, filepath.Join(dist, "build-info.env")))
		v := regexp.MustCompile(`(?m)^VERSION=(.*)$`).FindStringSubmatch(info)
		if v == nil || !strings.HasPrefix(r.Stdout, "storeagent "+v[1]+" ") {
			t.Errorf("version says %q; scripts/package stamped %v", r.Stdout, v)
		}
	}
}

// config check reads the configuration where the MSI puts it, by default
// and by its Windows path: the minimal file the MSI installs is OK, the
// full example is OK once its secret is in the environment, and a broken
// file gets every mistake with its line and exit code 2.
func TestConfigCheck(t *testing.T) {
	p := wine.Use(t)
	installAgent(t, p)
	writeFile(t, p, agentYAML, string(testenv.ReadFile(t, "../windows/agent.yaml")))

	r := must(t, p.Run(t, agentExe, "config", "check"), 0, "config check (default file)")
	if strings.TrimSpace(r.Stdout) != agentYAML+": OK" {
		t.Errorf("config check says %q", r.Stdout)
	}
	must(t, p.Run(t, agentExe, "config", "check", `c:\programdata\STOREWATCH\agent.yaml`), 0, "config check (path in other case)")

	// The full example the MSI puts beside it (Windows paths, COM ports,
	// winspool, a com0com tap), whose broker password comes from the
	// environment (the service's Environment value on Windows).
	example := dataDir + `\agent.yaml.example`
	writeFile(t, p, example, string(testenv.ReadFile(t, "../windows/agent.yaml.example")))
	r = must(t, p.Run(t, agentExe, "config", "check", example), 2, "config check of the example without its secret")
	if !strings.Contains(r.Stdout, "STOREWATCH_BROKER_PASSWORD is not set") {
		t.Errorf("config check of the example without its secret: %q", r.Stdout)
	}
	must(t, p.RunEnv(t, []string{"STOREWATCH_BROKER_PASSWORD=secret"}, agentExe, "config", "check", example), 0, "config check of the example")

	bad := dataDir + `\bad.yaml`
	writeFile(t, p, bad, "tenant: acme\nstore: s0042\nagent: pos-1\nsite: {timezone: Mars/Olympus}\npolling: {interval: 10ms}\n"+
		"devices:\n  - {id: r1, kind: receipt_printer, driver: escpos, address: 'serial://COM'}\nbrokr: {}\n")
	r = must(t, p.Run(t, agentExe, "config", "check", bad), 2, "config check of a broken file")
	for _, want := range []string{`bad.yaml:4: site.timezone: "Mars/Olympus"`, "bad.yaml:5: polling.interval", `bad.yaml:8: unknown setting "brokr"`} {
		if !strings.Contains(r.Stdout, want) {
			t.Errorf("config check of a broken file does not say %q:\n%s", want, r.Stdout)
		}
	}
	r = must(t, p.Run(t, agentExe, "config", "check", dataDir+`\missing.yaml`), 2, "config check of a missing file")
	if !strings.Contains(r.Stdout, `missing.yaml`) {
		t.Errorf("config check of a missing file: %q", r.Stdout)
	}
}

// devices probes emulated devices that run natively on Linux, over TCP on
// loopback, and prints their state and why: a receipt printer out of paper
// and a healthy label printer.
func TestDevices(t *testing.T) {
	p := wine.Use(t)
	installAgent(t, p)
	receipt := escpos.New()
	receipt.Switchboard().Set(escpos.PaperOut, true)
	rp := simtest.TCP(t, receipt)
	lp := simtest.TCP(t, zpl.New())
	writeFile(t, p, agentYAML, agentConfig("",
		"{id: receipt-1, kind: receipt_printer, driver: escpos, address: 'tcp://"+rp+"', location: lane 1}",
		"{id: label-1, kind: label_printer, driver: zpl, address: 'tcp://"+lp+"', location: back office}"))

	r := must(t, p.Run(t, agentExe, "devices"), 0, "devices")
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m)^receipt-1\s+receipt_printer\s+escpos\s+lane 1\s+fault\s.*paper_out`),
		regexp.MustCompile(`(?m)^label-1\s+label_printer\s+zpl\s+back office\s+ok\s`),
	} {
		if !want.MatchString(r.Stdout) {
			t.Errorf("devices does not match %s:\n%s", want, r.Stdout)
		}
	}

	r = must(t, p.Run(t, agentExe, "devices", "--json", "--config", agentYAML), 0, "devices --json")
	var rows []struct {
		ID       string
		State    wire.HealthState
		Faults   []wire.Fault
		Identity *wire.Identity
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil {
		t.Fatalf("devices --json: %v\n%s", err, r.Stdout)
	}
	got := map[string]wire.HealthState{}
	for _, row := range rows {
		got[row.ID] = row.State
		if row.ID == "receipt-1" && (len(row.Faults) == 0 || row.Faults[0].Code != wire.FaultPaperOut || row.Identity == nil || row.Identity.Model != escpos.DefaultIdentity.Model) {
			t.Errorf("receipt-1: %+v", row)
		}
	}
	if got["receipt-1"] != wire.StateFault || got["label-1"] != wire.StateOK {
		t.Errorf("states %v", got)
	}
}

// The agent runs, publishes to a real Mosquitto on loopback and keeps its
// outbox under %ProgramData%. A fault while the broker is down is held in
// the outbox; the agent is killed (as by a power cut) before it could send
// it; outbox --export shows it waiting; and after a restart it reaches
// the broker with the sequence number and boot it was recorded with. A
// Ctrl-C then stops the agent cleanly: it says goodbye itself, the broker
// publishes no will.
func TestRunKillRestartLosesNothing(t *testing.T) {
	p := wine.Use(t)
	installAgent(t, p)
	broker := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	obs := agenttest.Observe(t, broker.URL)
	printer := escpos.New()
	writeFile(t, p, agentYAML, agentConfig(broker.URL,
		"{id: receipt-1, kind: receipt_printer, driver: escpos, address: 'tcp://"+simtest.TCP(t, printer)+"', location: lane 1}"))

	agent := startAgent(t, p)
	birth := obs.WaitFor(t, "birth", agenttest.StatusIs(wire.PresenceOnline)).(*wire.Status)
	obs.WaitFor(t, "receipt-1 ok", agenttest.EventOf("receipt-1", wire.StateOK))

	// The store's line goes down, then the printer runs out of paper.
	broker.Stop()
	printer.Switchboard().Set(escpos.PaperOut, true)
	testenv.WaitFor(t, 30*time.Second, "the agent to record paper_out", func() bool {
		return strings.Contains(agent.Output(), "paper_out")
	})
	waitForCommits(t, p.Path(dataDir+`\outbox.db`))
	agent.Kill()

	// Support reads the backlog off the PC.
	backlog := dataDir + `\backlog.jsonl`
	r := must(t, p.Run(t, agentExe, "outbox", "--export", backlog), 0, "outbox --export")
	if !strings.Contains(r.Stdout, "messages written to "+backlog) {
		t.Errorf("outbox --export says %q", r.Stdout)
	}
	held := exportedEvent(t, p.Path(backlog), "receipt-1", wire.StateFault)
	if held.Boot != birth.Boot || held.Faults[0].Code != wire.FaultPaperOut {
		t.Fatalf("the exported event is %+v; want paper_out from boot %s", held, birth.Boot)
	}
	r = must(t, p.Run(t, agentExe, "outbox"), 0, "outbox")
	if !regexp.MustCompile(`unsent\s+[1-9]\d* events`).MatchString(r.Stdout) {
		t.Errorf("outbox summary:\n%s", r.Stdout)
	}

	// The line and the PC come back.
	broker.Start()
	agent = startAgent(t, p)
	got := obs.WaitFor(t, "the held event", func(m wire.Message) bool {
		ev, ok := m.(*wire.Event)
		return ok && ev.Seq == held.Seq && ev.Boot == held.Boot
	}).(*wire.Event)
	if got.Device != "receipt-1" || got.State != wire.StateFault || got.Faults[0].Code != wire.FaultPaperOut {
		t.Errorf("the held event arrived as %+v", got)
	}
	second := obs.WaitFor(t, "second birth", func(m wire.Message) bool {
		s, ok := m.(*wire.Status)
		return ok && s.State == wire.PresenceOnline && s.Boot != birth.Boot
	}).(*wire.Status)

	// The new boot's first reading of the printer (still out of paper) is
	// published before the stop: one taken at the moment of a stop stays
	// in the outbox for the next start (nothing is lost, but the check
	// below of an empty outbox would not hold).
	obs.WaitFor(t, "the second boot's paper_out", func(m wire.Message) bool {
		ev, ok := m.(*wire.Event)
		return ok && ev.Boot == second.Boot && ev.Device == "receipt-1" && ev.State == wire.StateFault
	})

	// Ctrl-C: a clean stop, a goodbye from this boot, no will.
	agent.Signal(syscall.SIGINT)
	if err := agent.Wait(30 * time.Second); err != nil {
		t.Fatalf("storeagent after Ctrl-C: %v\n%s", err, agent.Output())
	}
	obs.WaitFor(t, "goodbye", func(m wire.Message) bool {
		s, ok := m.(*wire.Status)
		return ok && s.State == wire.PresenceOffline && s.Boot == second.Boot
	})
	if !strings.Contains(agent.Output(), "storeagent stopped") {
		t.Errorf("no clean stop in the agent's log:\n%s", agent.Output())
	}
	cleanDisconnect(t, broker)
	r = must(t, p.Run(t, agentExe, "outbox"), 0, "outbox after the stop")
	if !strings.Contains(r.Stdout, "unsent     0 events") {
		t.Errorf("outbox after the stop:\n%s", r.Stdout)
	}
}

// startAgent runs storeagent.exe run with the default configuration and
// shows its output if the test fails.
func startAgent(t *testing.T, p *wine.Prefix) *testenv.Process {
	t.Helper()
	agent := p.Start(t, agentExe, "run")
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("storeagent output:\n%s", agent.Output())
		}
	})
	return agent
}

// waitForCommits waits until the outbox file has been written twice after
// now: the second write began after the first had ended, so it holds
// everything the agent had recorded when this was called. (The agent
// commits at least every heartbeat.)
func waitForCommits(t *testing.T, path string) {
	t.Helper()
	mtime := func() time.Time {
		st, err := os.Stat(path)
		if err != nil {
			return time.Time{}
		}
		return st.ModTime()
	}
	mark := time.Now()
	for range 2 {
		testenv.WaitFor(t, 30*time.Second, "an outbox commit", func() bool { return mtime().After(mark) })
		mark = mtime()
	}
}

// exportedEvent finds a device's event in an outbox export.
func exportedEvent(t *testing.T, path, device string, state wire.HealthState) *wire.Event {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var line uplink.ExportLine
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Fatalf("export line %q: %v", sc.Text(), err)
		}
		if line.Class != "event" {
			continue
		}
		m, err := wire.DecodeChannel(wire.ChannelEvents, line.Payload)
		if err != nil {
			t.Fatalf("exported event %s: %v", line.Payload, err)
		}
		if ev := m.(*wire.Event); ev.Device == device && ev.State == state && ev.Seq == line.Seq {
			return ev
		}
	}
	t.Fatalf("the export holds no %s event of %s:\n%s", state, device, testenv.ReadFile(t, path))
	return nil
}

// agentClient is the agent's MQTT client id.
var agentClient = uplink.ClientID(wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "pos-1"})

// cleanDisconnect checks the broker's log: the agent's last connection
// ended with an MQTT DISCONNECT, which discards the will, and not as a
// lost connection, which would publish it.
func cleanDisconnect(t *testing.T, broker *testenv.Mosquitto) {
	t.Helper()
	var last string
	testenv.WaitFor(t, 10*time.Second, "the broker to log the agent's disconnect", func() bool {
		log := broker.Log()
		i := strings.LastIndex(log, " as "+agentClient+" ")
		if i < 0 {
			return false
		}
		last = log[i:]
		return strings.Contains(last, "Client "+agentClient+" disconnected") || strings.Contains(last, "Client "+agentClient+" closed its connection")
	})
	if !strings.Contains(last, "Client "+agentClient+" disconnected") {
		t.Errorf("the agent's last connection did not end with DISCONNECT:\n%s", last)
	}
}
