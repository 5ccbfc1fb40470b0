package notify

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

const day = 24 * time.Hour

// The ticket snapshot answers what first-line support asks on the phone,
// counted from what the hub recorded.
func TestNotificationCarriesWhatFirstLineSupportAsks(t *testing.T) {
	w := newWorld(t, tuesday10.Add(-45*day))
	w.episode(mitte, "prn3", wire.FaultPaperJam, 10*time.Minute) // 45 days ago: too old to count
	w.advance(20 * day)
	w.episode(mitte, "prn3", wire.FaultPaperJam, 3*time.Minute)
	w.episode(mitte, "prn3", wire.FaultPaperJam, 20*time.Second) // too short to be an episode
	w.episode(nord, "prn7", wire.FaultPaperJam, 2*time.Minute)   // the same model in another store
	w.episode(mitte, "prn4", wire.FaultPaperOut, 5*time.Minute)  // another fault
	w.clk.Set(tuesday10)
	w.report(mitte, "prn3", wire.FaultPaperJam)
	w.advance(6 * time.Minute)

	n := w.last(incident.NotifyOpened)
	hn, err := w.bridge(&recorder{}).Notification(n)
	if err != nil {
		t.Fatal(err)
	}
	in := hn.Incident
	want := tickets.Brief{
		Key: "acme/s0042/prn3/paper_jam", Tenant: "acme", Store: "s0042",
		StoreName: "Acme Berlin Mitte", Address: "Invalidenstr. 1, 10115 Berlin", Country: "DE", TimeZone: "Europe/Berlin",
		Device: "prn3", Kind: "receipt_printer", Location: "lane 3",
		Identity: wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X5E0000003", Firmware: "30.01"},
		Fault:    wire.FaultPaperJam, Detail: "DLE EOT 4 = 0x72", Severity: wire.SeverityError, Remedy: wire.RemedyStore,
		Priority: n.Incident.Priority, SLADue: n.Incident.ResolutionDue,
		FirstSeen: tuesday10, Changed: tuesday10.Add(5 * time.Minute),
		DeviceCount30d: 2, ModelCount30d: 3, // the one 25 days ago and this one; and prn7's
		AutoClose: true, URL: "https://hub.example.com/console/incidents/" + n.Incident.ID,
	}
	if !in.FirstSeen.Equal(want.FirstSeen) || !in.Changed.Equal(want.Changed) || !in.SLADue.Equal(want.SLADue) {
		t.Errorf("times: first seen %v changed %v SLA due %v", in.FirstSeen, in.Changed, in.SLADue)
	}
	in.FirstSeen, in.Changed, in.SLADue = want.FirstSeen, want.Changed, want.SLADue
	if !equalIncident(in, want) {
		t.Errorf("ticket snapshot\n got %+v\nwant %+v", in, want)
	}
	if hn.Kind != tickets.Opened || hn.Occurrence != n.Incident.ID || in.Priority == 0 || in.SLADue.IsZero() {
		t.Errorf("notification: %s occurrence %q priority %d", hn.Kind, hn.Occurrence, in.Priority)
	}

	// The texts render in the store's language, with the store-local time.
	cat, err := tickets.Load(tickets.Config{Tenants: map[string]tickets.TenantConfig{"acme": {Stores: map[string]string{"s0042": "de"}}}})
	if err != nil {
		t.Fatal(err)
	}
	text, err := cat.Render(hn.Kind, hn.Incident, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Acme Berlin Mitte", "lane 3", "TM-T88VI", "X5E0000003", "10:00", "09:00 UTC", hn.Incident.URL} {
		if !strings.Contains(text.Body, s) {
			t.Errorf("the %s ticket lacks %q:\n%s", text.Language, s, text.Body)
		}
	}
	if text.Language != "de" {
		t.Errorf("language %q, want the store's de", text.Language)
	}

	// Recovery: the resolve says when it recovered.
	w.report(mitte, "prn3")
	w.advance(5 * time.Minute)
	r, err := w.bridge(&recorder{}).Notification(w.last(incident.NotifyResolved))
	if err != nil {
		t.Fatal(err)
	}
	if r.Kind != tickets.Resolved || r.Occurrence != hn.Occurrence || !r.Incident.Changed.Equal(tuesday10.Add(6*time.Minute)) || !r.Incident.AutoClose {
		t.Errorf("resolve: %s %s changed %v auto-close %v", r.Kind, r.Occurrence, r.Incident.Changed, r.Incident.AutoClose)
	}
}

func equalIncident(a, b tickets.Brief) bool {
	return a.Key == b.Key && a.Tenant == b.Tenant && a.Store == b.Store && a.StoreName == b.StoreName &&
		a.Address == b.Address && a.Country == b.Country && a.TimeZone == b.TimeZone && a.Device == b.Device &&
		a.Kind == b.Kind && a.Location == b.Location && a.Identity.Vendor == b.Identity.Vendor && a.Identity.Model == b.Identity.Model &&
		a.Identity.Serial == b.Identity.Serial && a.Identity.Firmware == b.Identity.Firmware && a.Fault == b.Fault &&
		a.Detail == b.Detail && a.Severity == b.Severity && a.Remedy == b.Remedy && a.Priority == b.Priority &&
		a.DeviceCount30d == b.DeviceCount30d && a.ModelCount30d == b.ModelCount30d && a.AutoClose == b.AutoClose &&
		a.URL == b.URL && slices.Equal(a.AffectedDevices, b.AffectedDevices) && a.Flaps == b.Flaps &&
		a.Recurrences == b.Recurrences && a.ClosedBy == b.ClosedBy && a.Reason == b.Reason
}

func TestStoreOfflineNamesTheDevicesThatWentStale(t *testing.T) {
	w := newWorld(t, tuesday10)
	w.offline(mitte)
	w.advance(4 * time.Minute)
	hn, err := w.bridge(&recorder{}).Notification(w.last(incident.NotifyOpened))
	if err != nil {
		t.Fatal(err)
	}
	in := hn.Incident
	if !in.StoreLevel() || in.Fault != wire.FaultAgentOffline || in.StoreName != "Acme Berlin Mitte" || !in.AutoClose ||
		!slices.Equal(in.AffectedDevices, []string{"prn3 (lane 3)", "prn4 (lane 4)"}) {
		t.Errorf("store incident: %+v", in)
	}
	cat, _ := tickets.Load(tickets.Config{})
	text, err := cat.Render(hn.Kind, in, "en")
	if err != nil || !strings.Contains(text.Body, "prn3 (lane 3), prn4 (lane 4)") {
		t.Errorf("store-offline ticket (%v):\n%s", err, text.Body)
	}
}

func TestChronicProblemCountsItsRecurrences(t *testing.T) {
	w := newWorld(t, tuesday10)
	for range 5 {
		w.episode(mitte, "prn3", wire.FaultPaperJam, 10*time.Minute)
	}
	n := w.last(incident.NotifyChronic)
	hn, err := w.bridge(&recorder{}).Notification(n)
	if err != nil {
		t.Fatal(err)
	}
	in := hn.Incident
	if hn.Kind != tickets.Chronic || in.Recurrences != 5 || in.ChronicWindow != 7*day || in.AutoClose ||
		in.DeviceCount30d != 5 || in.ModelCount30d != 5 || hn.Occurrence != n.Incident.ID {
		t.Errorf("chronic: %s occurrence %s %+v", hn.Kind, hn.Occurrence, in)
	}
}

// The bridge hands every notification over in order, waits for new ones
// instead of polling, retries when the outbox fails, and resumes from its
// cursor.
func TestBridgeFollowsTheStreamFromItsCursor(t *testing.T) {
	w := newWorld(t, tuesday10)
	rec := &recorder{fail: 2}
	stop := run(t, w.bridge(rec))
	id := w.fail(mitte, "prn3", wire.FaultPaperJam)
	testenv.WaitFor(t, 10*time.Second, "the opened notification after two failures", func() bool { return len(rec.list()) == 1 })
	w.report(mitte, "prn3")
	w.advance(3 * time.Minute)
	testenv.WaitFor(t, 10*time.Second, "the resolve", func() bool { return len(rec.list()) == 2 })
	stop()
	if got, want := rec.list(), []string{id + " opened", id + " resolved"}; !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	if cur, _ := w.st.Cursor(Consumer); cur != w.last(incident.NotifyResolved).Seq {
		t.Errorf("cursor %d, want the resolve's %d", cur, w.last(incident.NotifyResolved).Seq)
	}

	// While the bridge is down a new incident opens; it is live, so it is
	// delivered from the backlog, and nothing before the cursor again.
	id2 := w.fail(mitte, "prn4", wire.FaultPaperJam)
	rec2 := &recorder{}
	run(t, w.bridge(rec2))
	testenv.WaitFor(t, 10*time.Second, "the backlog", func() bool { return len(rec2.list()) == 1 })
	if got := rec2.list(); got[0] != id2+" opened" {
		t.Errorf("after the restart: %v", got)
	}
}

// Notifications from before the bridge ran open no ticket for an incident
// that has ended since (a helpdesk configured on a hub with a history, or
// a hub that was down); ends of incidents still pass, since their ticket
// may exist. New notifications all pass.
func TestBacklogOpensTicketsOnlyForLiveIncidents(t *testing.T) {
	w := newWorld(t, tuesday10)
	w.episode(mitte, "prn3", wire.FaultPaperJam, 10*time.Minute) // opened and resolved
	ended := w.last(incident.NotifyResolved).Incident.ID
	live := w.fail(nord, "prn7", wire.FaultPaperJam)

	rec := &recorder{}
	run(t, w.bridge(rec))
	testenv.WaitFor(t, 10*time.Second, "the backlog", func() bool { return len(rec.list()) == 2 })
	w.fail(mitte, "prn4", wire.FaultPaperJam)
	w.report(mitte, "prn4")
	w.advance(3 * time.Minute)
	fresh := w.last(incident.NotifyResolved).Incident.ID
	testenv.WaitFor(t, 10*time.Second, "the new incident", func() bool { return len(rec.list()) == 4 })
	want := []string{ended + " resolved", live + " opened", fresh + " opened", fresh + " resolved"}
	if got := rec.list(); !slices.Equal(got, want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
}

// At least once is exactly once at the helpdesk: the stream handed over
// again from the start (a crash before the cursor was stored) opens no
// second ticket and posts nothing twice. The ticket shows on the incident.
func TestRedeliveredStreamReachesTheHelpdeskOnce(t *testing.T) {
	w := newWorld(t, tuesday10)
	d := newDesk()
	out := openOutbox(t, w, d)

	stop := run(t, w.bridge(out))
	id := w.fail(mitte, "prn3", wire.FaultPaperJam)
	testenv.WaitFor(t, 10*time.Second, "the ticket on the incident", func() bool {
		h := w.incident(id).Helpdesk
		return h != nil && h.ID == "100" && h.URL == "https://desk.example.com/100" && h.Helpdesk == "desk"
	})
	stop()

	for range 2 {
		if err := w.st.SetCursor(Consumer, 0); err != nil {
			t.Fatal(err)
		}
		stop = run(t, w.bridge(out))
		waitIdle(t, w, out)
		stop()
	}
	w.report(mitte, "prn3")
	w.advance(5 * time.Minute)
	run(t, w.bridge(out))
	testenv.WaitFor(t, 10*time.Second, "the resolve", func() bool { return len(d.list()) == 2 })
	waitIdle(t, w, out)
	if got, want := d.list(), []string{"100 opened", "100 resolved resolved"}; !slices.Equal(got, want) {
		t.Errorf("helpdesk calls %v, want %v", got, want)
	}
}

// A person closes the ticket in the helpdesk: the hub closes the incident,
// says so in its timeline, and nothing more goes to the ticket while the
// fault lasts.
func TestTicketClosedInTheHelpdeskClosesTheIncident(t *testing.T) {
	w := newWorld(t, tuesday10)
	d := newDesk()
	out := openOutbox(t, w, d)
	run(t, w.bridge(out))
	id := w.fail(mitte, "prn3", wire.FaultPaperJam)
	testenv.WaitFor(t, 10*time.Second, "the ticket", func() bool { return w.incident(id).Helpdesk != nil })

	d.mu.Lock()
	d.state["100"] = helpdesk.StateRejected
	d.mu.Unlock()
	out.Sync(context.Background())
	inc := w.incident(id)
	if inc.State != incident.StateClosed || inc.Resolution != incident.ResolutionHelpdesk || inc.Helpdesk.ClosedByPerson != "rejected" {
		t.Fatalf("after the person's close: %s %s %+v", inc.State, inc.Resolution, inc.Helpdesk)
	}
	tl, _ := w.st.Timeline(id)
	if e := tl[len(tl)-1]; e.Kind != incident.EntryNotification || !strings.Contains(tl[len(tl)-2].Text, "desk #100 rejected by a person") {
		t.Errorf("timeline ends with %+v", tl[len(tl)-2:])
	}
	// The jam goes on; the agent keeps reporting it.
	for range 3 {
		w.report(mitte, "prn3", wire.FaultPaperJam)
		w.advance(20 * time.Minute)
	}
	waitIdle(t, w, out)
	if got := d.list(); !slices.Equal(got, []string{"100 opened"}) {
		t.Errorf("helpdesk calls %v: nothing should follow a person's close", got)
	}
	if live := w.eng.LiveIncidents(); len(live) != 0 {
		t.Errorf("live incidents %+v: the same episode must not reopen", live)
	}
}

func openOutbox(t *testing.T, w *world, d *desk) *helpdesk.Outbox {
	t.Helper()
	cat, err := tickets.Load(tickets.Config{})
	if err != nil {
		t.Fatal(err)
	}
	cfg := helpdesk.Config{
		Namespace: t.Name(),
		Routing:   helpdesk.Routing{Default: helpdesk.Target{Helpdesk: "desk"}},
		Outbox: helpdesk.OutboxConfig{Path: filepath.Join(t.TempDir(), "helpdesk.db"), Workers: 2,
			RetryMin: time.Millisecond, RetryMax: 10 * time.Millisecond, UpdateInterval: time.Nanosecond, SyncInterval: -1},
	}
	out, err := helpdesk.Open(cfg, cat, helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": d},
		Feedback: &Feedback{Writer: w, Store: w.st}, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = out.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done; out.Close() })
	return out
}

// waitIdle waits until the bridge has caught up with the stream and the
// outbox has delivered everything.
func waitIdle(t *testing.T, w *world, out *helpdesk.Outbox) {
	t.Helper()
	end := w.stream()[len(w.stream())-1].Seq
	testenv.WaitFor(t, 10*time.Second, "the bridge and the outbox to catch up", func() bool {
		cur, _ := w.st.Cursor(Consumer)
		return cur == end && out.Pending() == 0
	})
}

// Hardware that failed and works again stays open for a technician: the
// helpdesk hears "recovered by itself, please check and close" once (not
// the engine's plain update), nothing for a later acknowledgement, and an
// update when the fault comes back.
func TestRecoveryLeftForAPersonIsAResolveWithoutClosing(t *testing.T) {
	w := newWorld(t, tuesday10)
	d := newDesk()
	out := openOutbox(t, w, d)
	run(t, w.bridge(out))
	w.report(mitte, "prn3", wire.FaultHeadFault)
	w.advance(time.Minute)
	w.report(mitte, "prn3")
	w.advance(5 * time.Minute)
	n := w.last(incident.NotifyUpdated)
	hn, err := w.bridge(&recorder{}).Notification(n)
	if err != nil {
		t.Fatal(err)
	}
	if hn.Kind != tickets.Resolved || hn.Incident.AutoClose || !hn.Incident.Changed.Equal(tuesday10.Add(time.Minute)) {
		t.Errorf("recovery of a dispatch fault: %s auto-close %v changed %v", hn.Kind, hn.Incident.AutoClose, hn.Incident.Changed)
	}
	cat, _ := tickets.Load(tickets.Config{})
	if text, err := cat.Render(hn.Kind, hn.Incident, "en"); err != nil || !strings.Contains(text.Body, "does not close this ticket by itself") {
		t.Errorf("the note (%v):\n%s", err, text.Body)
	}
	waitIdle(t, w, out)
	check(t, w.Do(context.Background(), func(e *incident.Engine) (incident.Changes, error) { return e.Acknowledge(n.Incident.ID, "tech") }))
	waitIdle(t, w, out)
	w.report(mitte, "prn3", wire.FaultHeadFault)
	w.advance(time.Minute)
	waitIdle(t, w, out)
	if got, want := d.list(), []string{"100 opened", "100 resolved ", "100 updated "}; !slices.Equal(got, want) {
		t.Errorf("helpdesk calls %q, want %q", got, want)
	}
}

func check(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// flakyCounts fails its first reads, as a store does while PostgreSQL
// restarts.
type flakyCounts struct {
	FaultCounter
	mu    sync.Mutex
	fails int
}

func (f *flakyCounts) FaultCounts(q store.FaultQuery) (store.FaultCounts, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fails > 0 {
		f.fails--
		return store.FaultCounts{}, errors.New("failed to connect: the database system is starting up")
	}
	return f.FaultCounter.FaultCounts(q)
}

// A store that cannot be read for a moment delays the ticket; it does not
// skip it (found in a replica test: PostgreSQL restarted during a storm
// left one fault without a ticket).
func TestStoreAwayDelaysTheTicketAndSkipsNothing(t *testing.T) {
	w := newWorld(t, tuesday10)
	rec := &recorder{}
	b := w.bridge(rec)
	b.o.Counts = &flakyCounts{FaultCounter: w.st, fails: 3}
	run(t, b)
	id := w.fail(mitte, "prn3", wire.FaultPaperJam)
	testenv.WaitFor(t, 10*time.Second, "the ticket after three failed reads", func() bool { return len(rec.list()) == 1 })
	if got := rec.list(); got[0] != id+" opened" {
		t.Errorf("delivered %v", got)
	}
}

// flakyIncidents fails its first reads, as a store does while PostgreSQL
// restarts.
type flakyIncidents struct {
	IncidentReader
	fails, reads int
}

func (f *flakyIncidents) Incident(id string) (incident.Incident, error) {
	f.reads++
	if f.fails > 0 {
		f.fails--
		return incident.Incident{}, errors.New("failed to connect: the database system is starting up")
	}
	return f.IncidentReader.Incident(id)
}

// The helpdesk's answer comes once: a store that cannot be read for a
// moment delays its link to the incident, it does not drop it (found in a
// replica test restarting PostgreSQL); an incident that does not exist
// drops it at once.
func TestFeedbackWaitsForTheStore(t *testing.T) {
	w := newWorld(t, tuesday10)
	id := w.fail(mitte, "prn3", wire.FaultPaperJam)
	inc := w.incident(id)
	reader := &flakyIncidents{IncidentReader: w.st, fails: 3}
	f := &Feedback{Writer: w, Store: reader}
	f.Linked(context.Background(), helpdesk.Link{IncidentKey: inc.Key, Occurrence: id, Helpdesk: "desk", Ticket: helpdesk.Ticket{ID: "T-9"}})
	if got := w.incident(id).Helpdesk; got == nil || got.ID != "T-9" {
		t.Fatalf("after three failed reads the ticket is not on the incident: %+v", got)
	}
	before := reader.reads
	f.Linked(context.Background(), helpdesk.Link{IncidentKey: "acme/nowhere/x/paper_jam", Occurrence: "INC-999999", Helpdesk: "desk", Ticket: helpdesk.Ticket{ID: "T-10"}})
	if n := reader.reads - before; n != 1 {
		t.Errorf("an unknown incident was read %d times, want once (not waited for)", n)
	}
}
