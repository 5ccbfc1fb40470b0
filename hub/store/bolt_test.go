package store

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

func open(t *testing.T, path string) *Bolt {
	t.Helper()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func event(seq uint64, at time.Time, dev string, codes ...wire.FaultCode) *wire.Event {
	ev := &wire.Event{Header: wire.Header{V: 1, Type: wire.TypeEvent, AgentID: wire.AgentID{Tenant: "acme", Store: "s1", Agent: "a1"},
		Boot: "b1", Seq: seq, Time: at}, Device: dev, Since: at}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
	}
	ev.State = wire.StateOf(ev.Faults)
	return ev
}

// run feeds the engine and commits everything it changes, as the hub does.
type run struct {
	t   *testing.T
	clk *clock.Fake
	eng *incident.Engine
	st  *Bolt
}

func (r *run) commit(c incident.Changes) {
	r.t.Helper()
	if err := r.st.Commit(c); err != nil {
		r.t.Fatal(err)
	}
}

func (r *run) event(seq uint64, dev string, codes ...wire.FaultCode) {
	c, _ := r.eng.Event(event(seq, r.clk.Now(), dev, codes...), r.clk.Now())
	r.commit(c)
}

func (r *run) advance(d time.Duration) {
	r.clk.Advance(d)
	r.commit(r.eng.Tick())
}

func newRun(t *testing.T, st *Bolt, clk *clock.Fake) *run {
	eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
	snap, err := st.Snapshot(7*24*time.Hour, clk.Now())
	if err != nil {
		t.Fatal(err)
	}
	eng.Restore(snap)
	return &run{t: t, clk: clk, eng: eng, st: st}
}

func TestIncidentSurvivesARestartAndResolvesOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	clk := clock.NewFake(t0)
	st := open(t, path)
	r := newRun(t, st, clk)
	r.event(1, "printer-1", wire.FaultUnreachable)
	r.advance(4 * time.Minute)
	live, _ := st.Incidents(Filter{Live: true})
	if len(live) != 1 {
		t.Fatalf("live incidents before restart: %d", len(live))
	}
	st.Close()

	st = open(t, path)
	r = newRun(t, st, clk)
	r.event(1, "printer-1", wire.FaultUnreachable) // redelivered after the restart: a duplicate
	r.advance(time.Minute)
	r.event(2, "printer-1")
	r.advance(3 * time.Minute)
	all, err := st.Incidents(Filter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].State != incident.StateResolved || all[0].ID != live[0].ID {
		t.Fatalf("after restart and recovery: %+v", all)
	}
	tl, err := st.Timeline(all[0].ID)
	if err != nil || len(tl) < 3 || tl[0].Kind != incident.EntryOpened {
		t.Fatalf("timeline %v %+v", err, tl)
	}
	ns, _ := st.Notifications(0, 0)
	if len(ns) != 2 || ns[0].Kind != incident.NotifyOpened || ns[1].Kind != incident.NotifyResolved || ns[1].Seq != ns[0].Seq+1 {
		t.Fatalf("notification stream: %+v", ns)
	}
	if ns[1].Incident.Version <= ns[0].Incident.Version {
		t.Errorf("notification snapshots are not ordered by version")
	}
	c, _ := r.eng.Event(event(3, clk.Now(), "printer-2", wire.FaultUnreachable), clk.Now())
	r.commit(c)
	r.advance(5 * time.Minute)
	if inc, _ := st.Incidents(Filter{Live: true}); len(inc) != 1 || inc[0].ID == all[0].ID || incident.DedupKey(inc[0].Key) != inc[0].DedupKey {
		t.Errorf("a new incident after restart must get a new id: %+v", inc)
	}
}

func TestFilterAndLog(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	clk := clock.NewFake(t0)
	r := newRun(t, st, clk)
	r.event(1, "printer-1", wire.FaultPaperOut)
	r.event(2, "pt-1", wire.FaultPTHardware)
	r.advance(10 * time.Minute)
	for _, c := range []struct {
		f    Filter
		want int
	}{
		{Filter{}, 2},
		{Filter{Fault: "paper_out"}, 1},
		{Filter{Device: "pt-1", State: incident.StateOpen}, 1},
		{Filter{Store: "other"}, 0},
		{Filter{Since: t0.Add(time.Hour)}, 0},
		{Filter{Until: t0.Add(time.Hour), Limit: 1}, 1},
	} {
		got, err := st.Incidents(c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("%+v: %d incidents (%v), want %d", c.f, len(got), err, c.want)
		}
	}
	log, err := st.Log(t0, t0.Add(time.Second), 0)
	if err != nil || len(log) != 2 || log[0].Device != "printer-1" {
		t.Errorf("event log in range: %v %+v", err, log)
	}
	if _, err := st.Incident("INC-999999"); !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown incident: %v", err)
	}
	if err := st.SetCursor("redmine", 7); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Cursor("redmine"); n != 7 {
		t.Errorf("cursor %d", n)
	}
}

func TestNotifiedWakesOnNewNotifications(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	ch := st.Notified()
	clk := clock.NewFake(t0)
	r := newRun(t, st, clk)
	r.event(1, "pt-1", wire.FaultPTHardware)
	r.advance(time.Second)
	select {
	case <-ch:
	default:
		t.Fatal("a commit with notifications did not wake the waiter")
	}
}

func TestPruneLogKeepsTheRecentPart(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	var c incident.Changes
	for i := range 25 {
		c.Log = append(c.Log, incident.LogEntry{At: t0.Add(time.Duration(i) * time.Hour), Kind: incident.LogState, Device: "d"})
	}
	if err := st.Commit(c); err != nil {
		t.Fatal(err)
	}
	n, err := st.PruneLog(t0.Add(10 * time.Hour))
	if err != nil || n != 10 {
		t.Fatalf("pruned %d (%v), want 10", n, err)
	}
	left, _ := st.Log(t0.Add(-time.Hour), t0.Add(48*time.Hour), 0)
	if len(left) != 15 || !left[0].At.Equal(t0.Add(10*time.Hour)) {
		t.Errorf("left %d entries, first %v", len(left), left[0].At)
	}
}
