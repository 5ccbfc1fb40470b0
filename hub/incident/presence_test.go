package incident

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// heartbeat sends the agent's heartbeat of boot, made at made.
func (w *world) heartbeat(boot string, made time.Time) {
	w.seq++
	h := w.header(w.seq)
	h.Boot, h.Time = boot, made
	c, _ := w.eng.Metrics(&wire.Metrics{Header: h, Heartbeat: &wire.Heartbeat{}}, w.clk.Now())
	w.collect(c)
}

func (w *world) online() bool {
	a, ok := w.eng.Agent(w.id)
	return ok && a.Online
}

// A birth can be lost on the way (a broker cluster under load lost 4 of
// 1,000 while those agents' heartbeats kept coming). A fresh message of a
// boot newer than the hub knows stands for it: the agent is online, and
// its will then counts. Within a boot, or from a message made long ago or
// before the boot the hub knows, the hub waits for a birth.
func TestAMessageOfANewBootStandsForALostBirth(t *testing.T) {
	for _, tc := range []struct {
		name  string
		setup func(w *world) // after boot-1's birth at the start
		boot  string         // the heartbeat's boot
		age   time.Duration  // how long before its arrival it was made
		want  bool           // online after it
	}{
		{"a new boot's heartbeat, its birth lost", func(w *world) { w.will("boot-1") }, "boot-2", time.Second, true},
		{"the same boot after its will", func(w *world) { w.will("boot-1") }, "boot-1", time.Second, false},
		{"a new boot's heartbeat made long ago", func(w *world) { w.will("boot-1") }, "boot-2", 2 * time.Minute, false},
		{"an older boot's heartbeat", func(w *world) {
			w.will("boot-1")
			w.advance(time.Hour)
			w.birth("boot-3")
			w.will("boot-3")
		}, "boot-2", 30 * time.Minute, false},
		{"online already", func(*world) {}, "boot-2", time.Second, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newWorld(t, tuesday10, nil, printer("receipt-1", "lane 1"))
			tc.setup(w)
			w.advance(time.Hour)
			w.heartbeat(tc.boot, w.clk.Now().Add(-tc.age))
			if got := w.online(); got != tc.want {
				t.Fatalf("online %v, want %v", got, tc.want)
			}
		})
	}
}

// An agent the hub hears from again after its birth was lost is online:
// the agent_offline ticket of its last will resolves, and when it goes away
// again its will opens a new one, as after a birth heard.
func TestAnAgentWhoseBirthWasLostStillGetsItsOfflineTicket(t *testing.T) {
	w := newWorld(t, tuesday10, nil, printer("receipt-1", "lane 1"))
	w.will("boot-1")
	w.advance(time.Hour)
	live := func() (n int) {
		for _, inc := range w.incidents(KindAgentOffline) {
			if inc.Active {
				n++
			}
		}
		return n
	}
	if live() != 1 {
		t.Fatalf("setting up: %d live agent_offline incidents after the will, want 1", live())
	}
	w.heartbeat("boot-2", w.clk.Now())
	if !w.online() {
		t.Fatal("the new boot's heartbeat did not bring the agent online")
	}
	logged := false
	for _, l := range w.all.Log {
		logged = logged || l.Kind == LogPresence && l.State == "online" && strings.Contains(l.Detail, "boot boot-2 (its birth not heard")
	}
	if !logged {
		t.Error("the event log does not say the agent came online without its birth")
	}
	w.advance(time.Hour)
	if live() != 0 {
		t.Fatalf("%d live agent_offline incidents an hour after the agent was heard again, want 0", live())
	}
	if w.will("boot-2") != Applied {
		t.Fatal("the will of the boot whose birth was lost was ignored")
	}
	w.advance(time.Hour)
	if live() != 1 {
		t.Fatalf("%d live agent_offline incidents after the second will, want 1", live())
	}
}

// restartFromCommits replaces the engine with one restored from what the
// engine committed (the latest record of each store, agent and device, and
// the live incidents), as a replica taking a partition over, or a restarted
// hub, restores it from the store.
func (w *world) restartFromCommits() {
	latest := func(key func(int) string, n int) []int {
		at := map[string]int{}
		for i := range n {
			at[key(i)] = i
		}
		var idx []int
		for _, i := range at {
			idx = append(idx, i)
		}
		return idx
	}
	var snap Snapshot
	for _, i := range latest(func(i int) string { return w.all.Stores[i].Tenant + "/" + w.all.Stores[i].Store }, len(w.all.Stores)) {
		snap.Stores = append(snap.Stores, w.all.Stores[i])
	}
	for _, i := range latest(func(i int) string { return w.all.Agents[i].ID().String() }, len(w.all.Agents)) {
		snap.Agents = append(snap.Agents, w.all.Agents[i])
	}
	for _, i := range latest(func(i int) string { return w.all.Devices[i].ID }, len(w.all.Devices)) {
		snap.Devices = append(snap.Devices, w.all.Devices[i])
	}
	snap.Incidents = w.eng.LiveIncidents()
	w.eng = New(Config{Policy: DefaultPolicy(), Clock: w.clk})
	w.eng.Restore(snap)
}

// A device that flaps across a failover (its partition taken over by
// another replica in the middle) still gets its one flapping ticket: the
// changes counted before the takeover travel in the device's record.
func TestFlappingCountsOnAcrossARestore(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, scanner("scan-lane4", "lane 4"))
	flap := func(n int) {
		for range n {
			w.report("scan-lane4", wire.FaultUnreachable)
			w.advance(20 * time.Second)
			w.report("scan-lane4")
			w.advance(40 * time.Second)
		}
	}
	threshold := DefaultPolicy().FlapThreshold
	flap(threshold/2 - 1) // threshold-2 changes, each outage under the hold-down
	if n := len(w.incidents(KindFault)); n != 0 {
		t.Fatalf("%d incidents before the takeover", n)
	}
	w.restartFromCommits()
	flap(2) // four more: past the threshold only if the first ones count
	got := w.incidents(KindFault)
	if len(got) != 1 || !got[0].Flapping {
		t.Fatalf("after the takeover: %d incidents (%+v), want one marked flapping", len(got), got)
	}
}

// A device record once emitted keeps the changes it had: the engine shares
// the flap history with its records rather than copying it at every event,
// so a later change, or changes leaving the flap window, must never show in
// an earlier record.
func TestEmittedChangesStayAsTheyWere(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, scanner("scan-lane4", "lane 4"))
	var records []DeviceRecord
	var want [][]time.Time
	const cycles = 9 // two changes every ten minutes for 90: the window (30 minutes) drops the oldest
	for range cycles {
		w.report("scan-lane4", wire.FaultUnreachable)
		w.advance(20 * time.Second)
		w.report("scan-lane4")
		w.advance(9*time.Minute + 40*time.Second)
		r := w.device("scan-lane4")
		records = append(records, r)
		want = append(want, slices.Clone(r.Changes[wire.FaultUnreachable]))
	}
	for i, r := range records {
		if got := r.Changes[wire.FaultUnreachable]; !slices.Equal(got, want[i]) {
			t.Errorf("record %d: changes %v after later events, emitted with %v", i, got, want[i])
		}
	}
	if n := len(want[len(want)-1]); n == 0 || n >= 2*cycles-2 {
		t.Errorf("the last record holds %d of the %d changes: the window dropped none", n, 2*cycles)
	}
}
