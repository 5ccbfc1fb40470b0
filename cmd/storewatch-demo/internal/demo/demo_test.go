//go:build unix

package demo

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// testSpeed runs the 40-minute scripted day in about 20 seconds. The
// script's own margins (a brief fault lasts a few store minutes less than
// its hold-down) are then a second or more of real time.
const testSpeed = 120

// client reads the hub's API as a user of the demo would.
type client struct {
	t     *testing.T
	url   string
	token string
	http  *http.Client
}

func (c *client) get(path string, out any) {
	c.t.Helper()
	req, _ := http.NewRequest("GET", c.url+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		c.t.Fatalf("GET %s: HTTP %d", path, resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		c.t.Fatalf("GET %s: %v", path, err)
	}
}

// tickets returns the store's incidents by device/fault.
func (c *client) tickets() map[string]incident.Incident {
	var xs []incident.Incident
	c.get("/api/v1/incidents?store="+storeID+"&limit=1000", &xs)
	out := map[string]incident.Incident{}
	for _, x := range xs {
		k := x.Device + "/" + string(x.Fault)
		if _, dup := out[k]; dup {
			k += "#" + x.ID // a second ticket for one fault is a defect the test must see
		}
		out[k] = x
	}
	return out
}

// openFiles lists this process's open file descriptors by what they point
// at (sockets, PTYs, files), where the system shows them.
func openFiles() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range ents {
		if target, err := os.Readlink(filepath.Join("/proc/self/fd", e.Name())); err == nil {
			out = append(out, target)
		}
	}
	sort.Strings(out)
	return out
}

// The demo's day at compressed speed, checked through the hub's API: the
// tickets the script implies open and close, and nothing else opens: not
// the devices coming up after opening, not the brief cover-open, not the
// paper-low warning, not the short scale drift. Afterwards nothing the demo
// started is left: listeners, PTYs, files, goroutines, the data directory.
func TestDemoDayOpensAndClosesTheExpectedTickets(t *testing.T) {
	// Warm up what the runtime keeps for good (the network poller), so the
	// comparison below sees only what the demo opened.
	if ln, err := net.Listen("tcp", "127.0.0.1:0"); err == nil {
		ln.Close()
	}
	filesBefore := openFiles()
	goroutinesBefore := runtime.NumGoroutine()

	var out, logs testenv.Buffer
	start := time.Now()
	d, err := Start(context.Background(), Options{Speed: testSpeed, Listen: "127.0.0.1:0", Out: &out, Log: &logs, Version: "test"})
	if err != nil {
		t.Fatal(err)
	}
	closed := false
	t.Cleanup(func() {
		if !closed {
			d.Close()
		}
		if t.Failed() {
			t.Logf("demo output:\n%s", out.String())
			t.Logf("hub and agent log (tail):\n%s", tail(logs.String(), 60))
		}
	})
	c := &client{t: t, url: d.APIURL(), token: d.Token(), http: &http.Client{Timeout: 10 * time.Second}}
	defer c.http.CloseIdleConnections()

	select {
	case <-d.DayDone():
	case <-time.After(3 * time.Minute):
		t.Fatal("the scripted day did not end")
	}
	t.Logf("the day took %v", time.Since(start).Round(100*time.Millisecond))

	// The script's last changes resolve after their hold-up; on a slow
	// machine that may be after the day's end.
	var got map[string]incident.Incident
	testenv.WaitFor(t, 30*time.Second, "the day's tickets to settle", func() bool {
		got = c.tickets()
		return got["receipt-lane2/paper_out"].State == incident.StateResolved &&
			got["scale-deli/scale_overload"].State == incident.StateResolved &&
			got["pt-lane1/pt_host_unreachable"].State == incident.StateResolved
	})
	want := map[string]incident.State{
		"receipt-lane2/paper_out":      incident.StateResolved,
		"scale-deli/scale_overload":    incident.StateResolved,
		"pt-lane1/pt_host_unreachable": incident.StateResolved,
		"scanner-lane1/no_response":    "", // open or resolved, depending on how long the test took: see below
	}
	for k, inc := range got {
		w, ok := want[k]
		switch {
		case !ok:
			t.Errorf("unexpected ticket %s %s: %s (%s)", inc.ID, k, inc.Title, inc.State)
		case w != "" && inc.State != w:
			t.Errorf("%s: state %s, want %s", k, inc.State, w)
		case w == incident.StateResolved && inc.Resolution != incident.ResolutionRecovered:
			t.Errorf("%s: resolution %q, want %s", k, inc.Resolution, incident.ResolutionRecovered)
		}
	}
	for k := range want {
		if _, ok := got[k]; !ok {
			t.Errorf("no ticket for %s", k)
		}
	}
	paper := got["receipt-lane2/paper_out"]
	if paper.Facts.Location != "lane 2" || paper.Facts.Model != "TM-T88V" || paper.Facts.Serial != "X5E1000102" {
		t.Errorf("the paper-out ticket lacks what the helpdesk asks: %+v", paper.Facts)
	}

	// The scanner's outages, each shorter than the hold-down, made one
	// ticket, marked flapping.
	if sc, ok := got["scanner-lane1/no_response"]; ok {
		var det api.Detail
		c.get("/api/v1/incidents/"+sc.ID, &det)
		if !slices.ContainsFunc(det.Timeline, func(e incident.Entry) bool {
			return strings.Contains(e.Text, "is flapping") // opened as flapping, or marked later
		}) {
			t.Errorf("the scanner's ticket was never marked flapping: %+v", det.Timeline)
		}
	}

	// What opened nothing was seen all the same, and the event log says why.
	var log []incident.LogEntry
	c.get("/api/v1/log?from=1h&limit=5000", &log)
	suppressed := map[string]string{}
	for _, l := range log {
		if l.Kind == incident.LogEpisode && l.Suppressed != "" && len(l.Faults) == 1 {
			suppressed[l.Device+"/"+string(l.Faults[0])] = l.Suppressed
		}
	}
	for k, why := range map[string]string{
		"pos-lane3/unreachable":     "grace",     // down 7 minutes at opening: past the agent's grace and the hold-down, inside the hub's grace
		"label-deli/cover_open":     "hold_down", // a minute or two with the cover open
		"receipt-lane2/paper_low":   "never",     // a warning for the staff
		"scale-deli/scale_unstable": "hold_down", // a short drift
	} {
		if suppressed[k] != why {
			t.Errorf("episode %s: suppressed %q, want %q (all: %v)", k, suppressed[k], why, suppressed)
		}
	}

	// The live table showed the tickets as they happened.
	for _, line := range []string{"TICKET  INC-", "opened    receipt-lane2", "resolved  receipt-lane2", "no ticket: label-deli cover_open", "The day's tickets:"} {
		if !strings.Contains(out.String(), line) {
			t.Errorf("the demo's output lacks %q", line)
		}
	}

	// The lines are in store-time order, and the helpdesk calls about a
	// ticket the reader has seen open.
	stamp := regexp.MustCompile(`^(\d\d:\d\d)  (store|hub|TICKET) `)
	prev := ""
	for _, l := range strings.Split(out.String(), "\n") {
		if m := stamp.FindStringSubmatch(l); m != nil {
			if m[1] < prev {
				t.Errorf("%s comes after %s: out of time order", l, prev)
			}
			prev = m[1]
		}
	}
	for _, m := range regexp.MustCompile(`calls the (?:store|deli) about (INC-\d+)`).FindAllStringSubmatchIndex(out.String(), -1) {
		id := out.String()[m[2]:m[3]]
		if opened := strings.Index(out.String(), "TICKET  "+id+" P"); opened < 0 || opened > m[0] {
			t.Errorf("the helpdesk calls about %s before (or without) the line of its opening", id)
		}
	}

	// Stop, and check that nothing is left.
	listeners := []string{strings.TrimPrefix(d.APIURL(), "http://")}
	listeners = append(listeners, d.hub.MQTTAddrs()...)
	for _, dev := range d.devices {
		if dev.spec.Port != 0 {
			listeners = append(listeners, dev.addr)
		}
	}
	dir := d.Dir()
	c.http.CloseIdleConnections()
	closed = true
	if err := d.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	for _, a := range listeners {
		if conn, err := net.DialTimeout("tcp", a, time.Second); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections", a)
		}
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("the data directory %s is still there (%v)", dir, err)
	}
	if filesBefore != nil {
		if after := openFiles(); !slices.Equal(after, filesBefore) {
			t.Errorf("open files before the demo:\n%s\nafter it:\n%s", strings.Join(filesBefore, "\n"), strings.Join(after, "\n"))
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > goroutinesBefore && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond) // goroutines end on their own schedule after Close
	}
	if n := runtime.NumGoroutine(); n > goroutinesBefore {
		var b bytes.Buffer
		pprof.Lookup("goroutine").WriteTo(&b, 1)
		t.Errorf("%d goroutines after the demo, %d before:\n%s", n, goroutinesBefore, b.String())
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// The files in the data directory are real configurations (they pass the
// loaders storeagent and storehub use), and the compression divides every
// duration in them by the speed, with floors under probe timeouts.
func TestConfigurationsAreRealAndCompressedBySpeed(t *testing.T) {
	now := time.Date(2026, 3, 14, 7, 12, 42, 0, time.UTC)
	st := pickSite(now)
	if st.loc != time.UTC && now.In(st.loc).Hour() != 8 {
		t.Errorf("store in %s, where it is %s: want morning", st.zone, now.In(st.loc).Format("15:04"))
	}
	if late := now.Sub(st.opened); late != 42*time.Second {
		t.Errorf("the store opened %v before the demo's start, want the start of the minute", late)
	}
	c := dayClock{start: now, speed: 60}

	var devs []*device
	for _, s := range storeDevices() {
		d := &device{spec: s, addr: "127.0.0.1:9100"}
		if s.Port == 0 {
			d.addr = "/dev/ttyUSB0"
		}
		devs = append(devs, d)
	}
	dir := t.TempDir()
	key, err := signingKey(filepath.Join(dir, "signing_key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	if again, err := signingKey(filepath.Join(dir, "signing_key.pem")); err != nil || again != key {
		t.Errorf("the second run reads another key: %q, %v; want %q", again, err, key)
	}
	if fi, err := os.Stat(filepath.Join(dir, "signing_key.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("signing key file: %v, %v; want mode 0600", fi, err)
	}
	acfg, _, err := config.Parse("agent.yaml", []byte(agentYAML(st, devs, "tcp://127.0.0.1:1883", "secret-password", key, dir)), noEnv)
	if err != nil {
		t.Fatalf("agent.yaml does not load: %v", err)
	}
	if acfg.Remote.HubPublicKey != key {
		t.Errorf("remote.hub_public_key = %q, want the demo hub's %q", acfg.Remote.HubPublicKey, key)
	}
	if acfg.Polling.Interval != pollEvery || acfg.Devices[0].Timeout != probeTimeout {
		t.Fatalf("agent.yaml is not in store time: %+v", acfg.Polling)
	}
	compressAgent(acfg, c)
	scale := acfg.Devices[slices.IndexFunc(acfg.Devices, func(d config.Device) bool { return d.ID == "scale-deli" })]
	for name, tc := range map[string]struct{ got, want time.Duration }{
		"polling.interval": {acfg.Polling.Interval, 250 * time.Millisecond},
		"polling.grace":    {acfg.Polling.Grace, 2 * time.Second},
		"device interval":  {scale.Interval, 250 * time.Millisecond},
		"device timeout":   {scale.Timeout, minTimeout}, // 5s/60 is below the floor
		"host.interval":    {acfg.Host.Interval, minHostEvery},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	if scale.Options["unstable_after"] != "1s" || scale.Options["unstable_probes"] != "3" {
		t.Errorf("scale options = %v", scale.Options)
	}

	hcfg, err := hub.ParseConfig("hub.yaml", []byte(hubYAML(dir, "127.0.0.1:0", "a-token-of-32-characters-length", "$7$1000$c2FsdA==$aGFzaA==")), noEnv)
	if err != nil {
		t.Fatalf("hub.yaml does not load: %v", err)
	}
	compressHub(hcfg, c, 42*time.Second, st)
	p := hcfg.Policy.Policy()
	// The console and the timeline say store time, as the demo's lines do.
	for real, want := range map[time.Duration]string{0: "08:00", 95 * time.Second: "09:35"} {
		if got := p.Display.At(now.Add(real)).In(st.loc).Format("15:04"); got != want || c.label(now.Add(real)) != want {
			t.Errorf("%v after the start: the hub says %s, the demo %s; want %s", real, got, c.label(now.Add(real)), want)
		}
	}
	if got := p.Display.Dur(p.For("receipt_printer", wire.FaultPaperOut).HoldDown); got != 2*time.Minute {
		t.Errorf("the paper_out hold-down reads %v in the console, want 2m", got)
	}
	for name, tc := range map[string]struct{ got, want time.Duration }{
		"grace":                   {p.Grace, 42*time.Second + 10*time.Second},
		"paper_out hold-down":     {p.For("receipt_printer", wire.FaultPaperOut).HoldDown, 2 * time.Second},
		"unreachable hold-down":   {p.For("pos_pc", wire.FaultUnreachable).HoldDown, 3 * time.Second},
		"cover_open hold-down":    {p.For("label_printer", wire.FaultCoverOpen).HoldDown, 5 * time.Second},
		"scale_unstable hold-dwn": {p.For("scale", wire.FaultScaleUnstable).HoldDown, 30 * time.Second},
		"hold-up":                 {p.For("scale", wire.FaultScaleOverload).HoldUp, 2 * time.Second},
		"agent_offline hold-down": {p.For("", wire.FaultAgentOffline).HoldDown, 3 * time.Second},
		"flapping window":         {p.FlapWindow, 30 * time.Second},
		"flapping quiet":          {p.FlapQuiet, 15 * time.Second},
		"chronic minimum":         {p.ChronicMin, time.Second},
	} {
		if tc.got != tc.want {
			t.Errorf("%s = %v, want %v", name, tc.got, tc.want)
		}
	}
	if !p.For("receipt_printer", wire.FaultPaperLow).Never || p.FlapThreshold != 6 {
		t.Errorf("compression changed more than durations: paper_low %+v, flap threshold %d", p.For("", wire.FaultPaperLow), p.FlapThreshold)
	}
	if r := p.For("payment_terminal", wire.FaultPTHardware); r.OnRecovery != incident.RecoveryComment || r.HoldDown != 0 {
		t.Errorf("pt_hardware_fault rule = %+v, want the built-in one (at once, comment)", r)
	}

	for _, tc := range []struct {
		d    time.Duration
		want string
	}{{3 * time.Minute, "3m"}, {79 * time.Second, "1m19s"}, {168 * time.Hour, "168h"}, {30 * time.Second, "30s"}} {
		if got := human(tc.d); got != tc.want {
			t.Errorf("human(%v) = %s, want %s", tc.d, got, tc.want)
		}
	}
	if got := c.label(now.Add(95 * time.Second)); got != "09:35" {
		t.Errorf("95 real seconds after opening at 60x is %s, want 09:35", got)
	}
}
