package incident

import (
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func (w *world) act(c Changes, err error) Changes {
	w.t.Helper()
	if err != nil {
		w.t.Fatal(err)
	}
	w.collect(c)
	return c
}

// fail lets a device's fault last d and returns the newest fault incident.
func (w *world) fail(dev string, code wire.FaultCode, d time.Duration) Incident {
	w.t.Helper()
	w.report(dev, code)
	w.advance(d)
	got := w.incidents(KindFault)
	if len(got) == 0 {
		w.t.Fatalf("%s on %s for %v opened nothing", code, dev, d)
	}
	return got[len(got)-1]
}

func (w *world) timeline(id string, kind EntryKind) []Entry {
	var out []Entry
	for _, e := range w.all.Timeline {
		if e.Incident == id && e.Kind == kind {
			out = append(out, e)
		}
	}
	return out
}

func TestStoryHelpdeskTicketIsShownOnTheIncidentToTheEnd(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	inc := w.fail("receipt-lane3", wire.FaultPaperOut, 3*time.Minute)
	rm := HelpdeskTicket{Helpdesk: "redmine", ID: "4711", URL: "https://redmine.example.com/issues/4711"}
	w.act(w.eng.LinkTicket(inc.ID, rm))
	got := w.final[inc.ID]
	if got.Helpdesk == nil || got.Helpdesk.ID != "4711" || !got.Helpdesk.Linked.Equal(w.clk.Now()) {
		t.Fatalf("linked ticket: %+v", got.Helpdesk)
	}
	if tl := w.timeline(inc.ID, EntryHelpdesk); len(tl) != 1 || tl[0].Author != "redmine" ||
		!strings.Contains(tl[0].Text, "redmine #4711") || !strings.Contains(tl[0].Text, rm.URL) {
		t.Errorf("timeline: %+v", tl)
	}
	if c := w.act(w.eng.LinkTicket(inc.ID, rm)); !c.Empty() {
		t.Errorf("linking the same ticket again changed %+v", c)
	}

	// The link survives the engine's own later changes (the resolution
	// writes the whole incident).
	w.report("receipt-lane3")
	w.advance(3 * time.Minute)
	got = w.final[inc.ID]
	if got.State != StateResolved || got.Helpdesk == nil || got.Helpdesk.ID != "4711" {
		t.Errorf("after resolving: state %s, ticket %+v", got.State, got.Helpdesk)
	}
}

func TestStoryTicketLinkedAfterTheIncidentEndedGoesToTheStore(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	w.fail("receipt-lane3", wire.FaultPaperOut, 3*time.Minute)
	w.report("receipt-lane3")
	w.advance(3 * time.Minute)
	inc := w.incidents(KindFault)[0]
	if inc.State != StateResolved {
		t.Fatalf("state %s", inc.State)
	}
	// The helpdesk was down; its ticket arrives after the resolution.
	c := w.act(w.eng.LinkTicket(inc.ID, HelpdeskTicket{Helpdesk: "fsm", ID: "FSM-881"}))
	if len(c.Incidents) != 0 || len(c.Notifications) != 0 {
		t.Errorf("a finished incident is the store's to change: %+v", c)
	}
	if len(c.Tickets) != 1 || c.Tickets[0].Incident != inc.ID || c.Tickets[0].Ticket.ID != "FSM-881" || c.Tickets[0].Ticket.Linked.IsZero() {
		t.Errorf("ticket links: %+v", c.Tickets)
	}
	if tl := w.timeline(inc.ID, EntryHelpdesk); len(tl) != 1 || !strings.Contains(tl[0].Text, "fsm FSM-881") {
		t.Errorf("timeline: %+v", tl)
	}
	if _, err := w.eng.LinkTicket(inc.ID, HelpdeskTicket{Helpdesk: "fsm"}); err == nil {
		t.Error("a link without a ticket id was accepted")
	}
}

// A person closes the ticket in the helpdesk while the fault is still
// there: the incident closes like a person's close in the hub, nothing
// reopens for the same episode, and only a new episode is a new incident.
func TestStoryTicketClosedByAPersonInTheHelpdeskIsNotReopened(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	inc := w.fail("receipt-lane3", wire.FaultPaperJam, 6*time.Minute)
	rm := HelpdeskTicket{Helpdesk: "redmine", ID: "12", URL: "https://redmine.example.com/issues/12"}
	w.act(w.eng.LinkTicket(inc.ID, rm))
	linked := w.clk.Now()
	w.advance(10 * time.Minute)

	w.act(w.eng.ClosedInHelpdesk(inc.ID, HelpdeskTicket{Helpdesk: "redmine", ID: "12"}, "rejected"))
	got := w.final[inc.ID]
	if got.State != StateClosed || got.Resolution != ResolutionHelpdesk || got.ClosedBy != "redmine" ||
		!strings.Contains(got.CloseReason, "rejected") {
		t.Fatalf("after the helpdesk close: %+v", got)
	}
	if h := got.Helpdesk; h == nil || h.ClosedByPerson != "rejected" || !h.Linked.Equal(linked) || h.URL != rm.URL || h.ClosedAt.IsZero() {
		t.Errorf("ticket: %+v", h)
	}
	if w.notifications(NotifyClosed) != 1 {
		t.Errorf("%d closed notifications, want 1", w.notifications(NotifyClosed))
	}
	if _, live := w.eng.Live(inc.ID); live {
		t.Error("the incident is still live")
	}

	// The jam goes on for hours, and the agent keeps reporting it: the same
	// occurrence, so nothing new.
	for range 6 {
		w.report("receipt-lane3", wire.FaultPaperJam)
		w.advance(30 * time.Minute)
	}
	if n := len(w.incidents(KindFault)); n != 1 {
		t.Fatalf("%d incidents while the same jam lasted, want 1", n)
	}
	// Cleared, and back the next day: a new occurrence is a new incident.
	w.report("receipt-lane3")
	w.advance(24 * time.Hour)
	w.fail("receipt-lane3", wire.FaultPaperJam, 6*time.Minute)
	if got := w.incidents(KindFault); len(got) != 2 || got[1].ID == inc.ID || got[1].Helpdesk != nil {
		t.Fatalf("a new episode should open a new incident without the old ticket: %+v", got)
	}

	// A close arriving for a finished incident is only recorded.
	c := w.act(w.eng.ClosedInHelpdesk(inc.ID, rm, "deleted"))
	if len(c.Incidents) != 0 || len(c.Notifications) != 0 || len(c.Tickets) != 1 || c.Tickets[0].Ticket.ClosedByPerson != "deleted" {
		t.Errorf("close of a finished incident: %+v", c)
	}
}

func TestStoryNotificationsSayTheOldPriorityAndTheFlaps(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, terminal("pt-lane1", "lane 1"), terminal("pt-lane2", "lane 2"))
	first := w.fail("pt-lane1", wire.FaultUnreachable, 4*time.Minute)
	// The second of two terminals fails: every terminal down is impact 1.
	w.report("pt-lane2", wire.FaultUnreachable)
	w.advance(4 * time.Minute)
	var raised *Notification
	for i, n := range w.all.Notifications {
		if n.Kind == NotifyUpdated && n.Incident.ID == first.ID && strings.HasPrefix(n.Text, "priority now") {
			raised = &w.all.Notifications[i]
		}
	}
	if raised == nil || raised.PreviousPriority != first.Priority || raised.Incident.Priority >= first.Priority {
		t.Fatalf("priority update of %s (was P%d): %+v", first.ID, first.Priority, raised)
	}

	s := newWorld(t, tuesday10, tradingHours, scanner("scan-lane1", "lane 1"))
	s.report("scan-lane1", wire.FaultUnreachable)
	s.advance(4 * time.Minute)
	for range 3 { // six changes within the flap window
		s.report("scan-lane1")
		s.advance(30 * time.Second)
		s.report("scan-lane1", wire.FaultUnreachable)
		s.advance(30 * time.Second)
	}
	inc := s.final[s.incidents(KindFault)[0].ID]
	if !inc.Flapping || inc.Flaps < 6 {
		t.Errorf("flapping %v after %d flaps, want at least 6", inc.Flapping, inc.Flaps)
	}
}

func TestEngineLooksUpAStoreItsDevicesAndItsAgent(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, scanner("scan-2", "lane 2"), printer("prn-1", "lane 1"))
	st, ok := w.eng.Store("acme", "s0042")
	if !ok || st.Info.Name != "Acme Berlin Mitte" || st.Info.Country != "DE" {
		t.Errorf("store: %+v %v", st, ok)
	}
	if _, ok := w.eng.Store("acme", "nope"); ok {
		t.Error("an unknown store was found")
	}
	devs := w.eng.StoreDevices("acme", "s0042")
	if len(devs) != 2 || devs[0].ID != "prn-1" || devs[1].ID != "scan-2" || devs[1].Location != "lane 2" {
		t.Errorf("devices: %+v", devs)
	}
	if devs := w.eng.StoreDevices("", "s0042"); len(devs) != 2 || devs[0].Tenant != "acme" {
		t.Errorf("the devices of every store s0042: %+v", devs)
	}
	if devs := w.eng.StoreDevices("beta", "s0042"); len(devs) != 0 {
		t.Errorf("another tenant's store s0042: %+v", devs)
	}
	if ag, ok := w.eng.Agent(w.id); !ok || !ag.Online {
		t.Errorf("agent: %+v %v", ag, ok)
	}
	w.will(w.boot)
	if devs := w.eng.StoreDevices("acme", "s0042"); devs[0].State != wire.StateStale {
		t.Errorf("an offline agent's device is %s, want stale", devs[0].State)
	}
	if ag, ok := w.eng.Agent(w.id); !ok || ag.Online {
		t.Errorf("agent after its will: %+v %v", ag, ok)
	}
	if _, ok := w.eng.Agent(wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "nope"}); ok {
		t.Error("an unknown agent was found")
	}
}

// A change set given back once committed lends its arrays to the next
// one, which holds only its own records; a change set not given back is
// never written into.
func TestRecycledChangeSetsHoldOnlyTheirOwnRecords(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("prn-1", "lane 1"), scanner("scan-2", "lane 2"))
	event := func(dev string) Changes {
		t.Helper()
		w.seq++
		ev := &wire.Event{Header: w.header(w.seq), Device: dev, State: wire.StateOK}
		ev.Header.Type = wire.TypeEvent
		c, out := w.eng.Event(ev, w.clk.Now())
		if out != Applied || len(c.Devices) != 1 || len(c.Agents) != 1 || len(c.Log) != 1 {
			t.Fatalf("event of %s: %v, %d devices, %d agents, %d log entries", dev, out, len(c.Devices), len(c.Agents), len(c.Log))
		}
		return c
	}
	kept := event("prn-1")
	keptSeq := kept.Devices[0].LastSeq
	given := event("scan-2")
	array := &given.Devices[0]
	w.eng.Recycle(&given)
	if given.Devices != nil || given.Log != nil {
		t.Errorf("a recycled change set still holds %+v", given)
	}
	next := event("prn-1")
	if &next.Devices[0] != array {
		t.Error("the next change set did not reuse the recycled arrays")
	}
	if d := next.Devices[0]; d.ID != "prn-1" || d.LastSeq != w.seq || next.Log[0].Device != "prn-1" {
		t.Errorf("the next change set holds %+v, %+v", d, next.Log[0])
	}
	if d := kept.Devices[0]; d.ID != "prn-1" || d.LastSeq != keptSeq {
		t.Errorf("a change set not given back was written into: %+v", d)
	}
	// An array grown by a batch of inventories is not kept for good.
	w.eng.Recycle(&next)
	event("scan-2") // takes next's arrays
	huge := Changes{Devices: make([]DeviceRecord, 1, maxRecycled+1)}
	w.eng.Recycle(&huge)
	if c := event("prn-1"); cap(c.Devices) > maxRecycled {
		t.Errorf("an array of %d records was kept", cap(c.Devices))
	}
}
