package storetest

import (
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

func incidentSurvivesARestartAndResolvesOnce(t *testing.T, newStore New) {
	reopen := newStore(t)
	clk := clock.NewFake(T0)
	st := reopen(t)
	r := NewRunner(t, st, clk)
	r.Event(1, "printer-1", wire.FaultUnreachable)
	r.Advance(4 * time.Minute)
	live, _ := st.Incidents(store.Filter{Live: true})
	if len(live) != 1 {
		t.Fatalf("live incidents before restart: %d", len(live))
	}
	st.Close()

	st = reopen(t)
	r = NewRunner(t, st, clk)
	r.Event(1, "printer-1", wire.FaultUnreachable) // redelivered after the restart: a duplicate
	r.Advance(time.Minute)
	r.Event(2, "printer-1")
	r.Advance(3 * time.Minute)
	all, err := st.Incidents(store.Filter{})
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
	c, _ := r.Eng.Event(Event(3, clk.Now(), "printer-2", wire.FaultUnreachable), clk.Now())
	r.Commit(c)
	r.Advance(5 * time.Minute)
	if inc, _ := st.Incidents(store.Filter{Live: true}); len(inc) != 1 || inc[0].ID == all[0].ID || incident.DedupKey(inc[0].Key) != inc[0].DedupKey {
		t.Errorf("a new incident after restart must get a new id: %+v", inc)
	}
}

func filterAndLog(t *testing.T, newStore New) {
	st := open(t, newStore)
	clk := clock.NewFake(T0)
	r := NewRunner(t, st, clk)
	r.Event(1, "printer-1", wire.FaultPaperOut)
	r.Event(2, "pt-1", wire.FaultPTHardware)
	r.Advance(10 * time.Minute)
	for _, c := range []struct {
		f    store.Filter
		want int
	}{
		{store.Filter{}, 2},
		{store.Filter{Fault: "paper_out"}, 1},
		{store.Filter{Device: "pt-1", State: incident.StateOpen}, 1},
		{store.Filter{Store: "other"}, 0},
		{store.Filter{Tenant: "acme", Store: "s1", Live: true, Kind: incident.KindFault}, 2},
		{store.Filter{Since: T0.Add(time.Hour)}, 0},
		{store.Filter{Until: T0.Add(time.Hour), Limit: 1}, 1},
	} {
		got, err := st.Incidents(c.f)
		if err != nil || len(got) != c.want {
			t.Errorf("%+v: %d incidents (%v), want %d", c.f, len(got), err, c.want)
		}
		for _, inc := range got {
			if !c.f.Match(&inc) {
				t.Errorf("%+v: %s does not match the filter", c.f, inc.ID)
			}
		}
	}
	all, err := st.Log(T0, T0.Add(time.Second), 0)
	// The state changes, in order (the agent's presence is logged too: its
	// first event stands for the birth this runner does not send).
	var log []incident.LogEntry
	for _, l := range all {
		if l.Kind == incident.LogState {
			log = append(log, l)
		}
	}
	if err != nil || len(log) != 2 || log[0].Device != "printer-1" {
		t.Errorf("event log in range: %v %+v", err, all)
	}
	if _, err := st.Incident("INC-999999"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("unknown incident: %v", err)
	}
	if err := st.SetCursor("redmine", 7); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Cursor("redmine"); n != 7 {
		t.Errorf("cursor %d", n)
	}
}

// Ids are INC-%06d: past a million, byte order is not number order.
func incidentsAreListedNewestFirstByNumber(t *testing.T, newStore New) {
	st := open(t, newStore)
	var c incident.Changes
	for _, id := range []string{"INC-999999", "INC-1000000", "INC-000002", "INC-1000001"} {
		c.Incidents = append(c.Incidents, Incident(id, "d-"+id, incident.StateResolved, T0))
	}
	commit(t, st, c)
	got, err := st.Incidents(store.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, inc := range got {
		ids = append(ids, inc.ID)
	}
	if fmt.Sprint(ids) != "[INC-1000001 INC-1000000 INC-999999 INC-000002]" {
		t.Errorf("order %v", ids)
	}
	snap, err := st.Snapshot(time.Hour, T0)
	if err != nil || snap.LastID != 1000001 {
		t.Errorf("last id %d (%v), want 1000001", snap.LastID, err)
	}
}

func timelineOfAnUnknownIncident(t *testing.T, newStore New) {
	st := open(t, newStore)
	if _, err := st.Timeline("INC-000404"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("timeline of an unknown incident: %v", err)
	}
	if err := st.AppendTimeline(incident.Entry{Incident: "INC-000404", At: T0, Kind: incident.EntryComment, Text: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a comment on an unknown incident: %v", err)
	}
	inc := Incident("INC-000001", "d", incident.StateClosed, T0)
	commit(t, st, incident.Changes{Incidents: []incident.Incident{inc},
		Timeline: []incident.Entry{{Incident: inc.ID, At: T0, Kind: incident.EntryOpened, Author: "storehub", Text: "opened"}}})
	if err := st.AppendTimeline(incident.Entry{Incident: inc.ID, At: T0.Add(time.Hour), Kind: incident.EntryComment, Author: "ann", Text: "swapped"}); err != nil {
		t.Fatal(err)
	}
	tl, err := st.Timeline(inc.ID)
	if err != nil || len(tl) != 2 || tl[1].Author != "ann" || tl[1].Text != "swapped" {
		t.Errorf("timeline %v %+v", err, tl)
	}
	if tl, err := st.Timeline(inc.ID + "0"); !errors.Is(err, store.ErrNotFound) || len(tl) != 0 {
		t.Errorf("timeline of an id the known one begins: %v %+v", err, tl)
	}
}

func notifiedWakesOnNewNotifications(t *testing.T, newStore New) {
	st := open(t, newStore)
	ch := st.Notified()
	clk := clock.NewFake(T0)
	r := NewRunner(t, st, clk)
	r.Event(1, "pt-1", wire.FaultPTHardware)
	r.Advance(time.Second)
	select {
	case <-ch:
	default:
		t.Fatal("a commit with notifications did not wake the waiter")
	}
}

func notificationStreamAndCursors(t *testing.T, newStore New) {
	st := open(t, newStore)
	inc := Incident("INC-000001", "d", incident.StateOpen, T0)
	for i := range 5 {
		n := incident.Notification{Kind: incident.NotifyUpdated, At: T0.Add(time.Duration(i) * time.Minute), Incident: inc, Text: fmt.Sprint(i)}
		commit(t, st, incident.Changes{Incidents: []incident.Incident{inc}, Notifications: []incident.Notification{n, n}})
	}
	all, err := st.Notifications(0, 0)
	if err != nil || len(all) != 10 {
		t.Fatalf("stream %v: %d notifications", err, len(all))
	}
	for i, n := range all {
		if n.Seq != all[0].Seq+uint64(i) || n.Text != fmt.Sprint(i/2) {
			t.Errorf("notification %d: seq %d text %q", i, n.Seq, n.Text)
		}
	}
	page, err := st.Notifications(all[3].Seq, 4)
	if err != nil || len(page) != 4 || page[0].Seq != all[4].Seq {
		t.Errorf("after %d, 4: %v %+v", all[3].Seq, err, page)
	}
	if rest, _ := st.Notifications(all[9].Seq, 0); len(rest) != 0 {
		t.Errorf("after the last: %+v", rest)
	}
	if n, err := st.Cursor("nobody"); n != 0 || err != nil {
		t.Errorf("an unknown consumer's cursor: %d %v", n, err)
	}
	for _, seq := range []uint64{3, 9, 2} {
		if err := st.SetCursor("webhook", seq); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := st.Cursor("webhook"); n != 2 {
		t.Errorf("cursor %d, want the last one set", n)
	}
}

func pruneLogKeepsTheRecentPart(t *testing.T, newStore New) {
	st := open(t, newStore)
	var c incident.Changes
	for i := range 25 {
		c.Log = append(c.Log, incident.LogEntry{At: T0.Add(time.Duration(i) * time.Hour), Kind: incident.LogState, Device: "d"})
	}
	commit(t, st, c)
	n, err := st.PruneLog(T0.Add(10 * time.Hour))
	if err != nil || n != 10 {
		t.Fatalf("pruned %d (%v), want 10", n, err)
	}
	left, _ := st.Log(T0.Add(-time.Hour), T0.Add(48*time.Hour), 0)
	if len(left) != 15 || !left[0].At.Equal(T0.Add(10*time.Hour)) {
		t.Errorf("left %d entries, first %v", len(left), left[0].At)
	}
	if n, err := st.PruneLog(T0); n != 0 || err != nil {
		t.Errorf("nothing older left: pruned %d (%v)", n, err)
	}
}

func ticketLinkChangesTheStoredIncident(t *testing.T, newStore New) {
	st := open(t, newStore)
	inc := incident.Incident{ID: "INC-000007", Key: "acme/s1/prn1/paper_out", State: incident.StateResolved, Version: 4,
		Facts: incident.Facts{Severity: wire.SeverityError, Remedy: wire.RemedyStore}}
	commit(t, st, incident.Changes{Incidents: []incident.Incident{inc}})
	linked := T0.Add(time.Minute)
	link := incident.HelpdeskTicket{Helpdesk: "redmine", ID: "12", URL: "https://rm/issues/12", Linked: linked}
	commit(t, st, incident.Changes{Tickets: []incident.TicketLink{{Incident: inc.ID, Ticket: link}}})
	// A person closes it later; the engine knows only the link it was told.
	closed := incident.HelpdeskTicket{Helpdesk: "redmine", ID: "12", Linked: T0.Add(time.Hour), ClosedByPerson: "closed", ClosedAt: T0.Add(time.Hour)}
	commit(t, st, incident.Changes{Tickets: []incident.TicketLink{{Incident: inc.ID, Ticket: closed}, {Incident: "INC-404", Ticket: closed}}})
	got, err := st.Incident(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := got.Helpdesk
	if h == nil || h.ID != "12" || h.URL != link.URL || !h.Linked.Equal(linked) || h.ClosedByPerson != "closed" || got.State != incident.StateResolved || got.Version != 6 {
		b, _ := json.Marshal(got)
		t.Errorf("stored incident: %s", b)
	}
	if _, err := st.Incident("INC-404"); err == nil {
		t.Error("a link created an incident")
	}
}

func storesListsEveryStoreRecord(t *testing.T, newStore New) {
	st := open(t, newStore)
	commit(t, st, incident.Changes{Stores: []incident.StoreRecord{
		{Tenant: "acme", Store: "s1", Info: wire.StoreInfo{TimeZone: "Europe/Berlin"}},
		{Tenant: "acme", Store: "s2", Info: wire.StoreInfo{TimeZone: "Asia/Tokyo"}},
		{Tenant: "acme", Store: "s1", Info: wire.StoreInfo{TimeZone: "Europe/Berlin", Name: "Mitte"}}, // a later version in one batch
	}})
	got, err := st.Stores()
	if err != nil || len(got) != 2 || got[0].Info.Name != "Mitte" || got[1].Store != "s2" {
		t.Errorf("stores %v %+v", err, got)
	}
}
