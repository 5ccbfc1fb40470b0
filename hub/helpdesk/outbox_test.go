package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func TestDeliversInOrderPerTicket(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, helpdesktest.Config(t), desk, nil)
	var ins []tickets.Brief
	for i := range 8 {
		in := helpdesktest.Incident(fmt.Sprintf("%04d", i), "prn1", wire.FaultPaperOut)
		ins = append(ins, in)
		ext := helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())
		desk.failNext[ext] = i % 3 // some tickets fail a few times first
		flap := in
		flap.Flaps = 5
		closed := in
		closed.Reason = "done"
		helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened), helpdesktest.Note(flap, tickets.Flapping), helpdesktest.Note(in, tickets.Resolved), helpdesktest.Note(closed, tickets.Closed))
	}
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	want := []tickets.Occasion{tickets.Opened, tickets.Flapping, tickets.Resolved, tickets.Closed}
	for _, in := range ins {
		ext := helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())
		if got := desk.kinds(ext); !slices.Equal(got, want) {
			t.Errorf("%s: calls %v, want %v", in.Store, got, want)
		}
	}
	if desk.opened != len(ins) {
		t.Errorf("%d tickets for %d incidents", desk.opened, len(ins))
	}
}

// While the helpdesk is away, updates waiting behind each other merge into
// the newest, and a resolve drops the updates still waiting.
func TestCoalescing(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, helpdesktest.Config(t), desk, nil)
	a := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	b := helpdesktest.Incident("0002", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(a, tickets.Opened), helpdesktest.Note(b, tickets.Opened))
	for p := 4; p >= 1; p-- {
		u := a
		u.Priority = p
		helpdesktest.Enqueue(t, o, helpdesktest.Note(u, tickets.Updated))
		helpdesktest.Enqueue(t, o, helpdesktest.Note(b, tickets.Updated))
	}
	helpdesktest.Enqueue(t, o, helpdesktest.Note(b, tickets.Resolved))
	if got := o.Pending(); got != 4 { // a: opened, updated; b: opened, resolved
		t.Fatalf("%d calls queued, want 4", got)
	}
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	extA := helpdesk.ExternalID(t.Name(), helpdesktest.Note(a, tickets.Opened).TicketKey())
	if got := desk.kinds(extA); !slices.Equal(got, []tickets.Occasion{tickets.Opened, tickets.Updated}) {
		t.Fatalf("a: %v", got)
	}
	if last := desk.calls[desk.tickets[extA]][1]; last.Incident.Priority != 1 {
		t.Errorf("the merged update carries priority %d, want the newest (1)", last.Incident.Priority)
	}
	extB := helpdesk.ExternalID(t.Name(), helpdesktest.Note(b, tickets.Opened).TicketKey())
	if got := desk.kinds(extB); !slices.Equal(got, []tickets.Occasion{tickets.Opened, tickets.Resolved}) {
		t.Errorf("b: %v", got)
	}
}

func TestSameNoteIsNotPostedTwice(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, helpdesktest.Config(t), desk, nil)
	helpdesktest.Running(t, o)
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	helpdesktest.Drained(t, o)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Updated))
	helpdesktest.Drained(t, o)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Updated)) // nothing changed
	helpdesktest.Drained(t, o)
	in.Detail = "DLE EOT 4 = 0x7E"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Updated))
	helpdesktest.Drained(t, o)
	ext := helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())
	if got := desk.kinds(ext); !slices.Equal(got, []tickets.Occasion{tickets.Opened, tickets.Updated, tickets.Updated}) {
		t.Errorf("calls %v: the repeated update was posted", got)
	}
}

func TestUpdatesWaitForTheInterval(t *testing.T) {
	desk := newFakeDesk()
	cfg := helpdesktest.Config(t)
	cfg.Outbox.UpdateInterval = time.Hour
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	o, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": desk}, Logger: helpdesktest.Quiet, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	helpdesktest.Running(t, o)
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	helpdesktest.Drained(t, o)
	in.Priority = 1
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Updated))
	testenv.WaitFor(t, 10*time.Second, "the update to be postponed", func() bool {
		due := o.DueTimes()
		return len(due) == 1 && due[0].Equal(now.Add(time.Hour))
	})
	ext := helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())
	if got := desk.kinds(ext); len(got) != 1 {
		t.Errorf("calls %v: the update did not wait", got)
	}
	if o.Pending() != 1 {
		t.Errorf("the update is no longer queued")
	}
}

func TestPermanentFailureGoesToDeadLetters(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, helpdesktest.Config(t), desk, nil)
	desk.fail = helpdesk.Permanent(errors.New("HTTP 422: project not found"))
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	dead, err := o.DeadLetters()
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	d := dead[0]
	if d.Ticket != helpdesktest.Note(in, tickets.Opened).TicketKey() || d.Reason != "HTTP 422: project not found" || d.Attempts != 1 || d.Helpdesk != "desk" {
		t.Errorf("dead letter %+v", d)
	}
	desk.set(func() { desk.fail = nil })
	if err := o.Retry(d.Seq); err != nil {
		t.Fatal(err)
	}
	helpdesktest.Drained(t, o)
	if dead, _ := o.DeadLetters(); len(dead) != 0 {
		t.Errorf("still dead after retry: %v", dead)
	}
	info, ok, err := o.Ticket(in.Key, "1")
	if err != nil || !ok || info.Ticket.ID != "1" {
		t.Errorf("ticket after retry: %+v %v %v", info, ok, err)
	}
	if err := o.Discard(d.Seq); err == nil {
		t.Error("discarding a retried letter worked")
	}
}

func TestGivesUpAfterTheConfiguredTime(t *testing.T) {
	desk := newFakeDesk()
	desk.fail = errors.New("connection refused")
	cfg := helpdesktest.Config(t)
	cfg.Outbox.GiveUpAfter = time.Hour
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { desk.mu.Lock(); defer desk.mu.Unlock(); return now }
	o, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": desk}, Logger: helpdesktest.Quiet, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	helpdesktest.Enqueue(t, o, helpdesktest.Note(helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut), tickets.Opened))
	desk.set(func() { now = now.Add(2 * time.Hour) })
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	if dead, _ := o.DeadLetters(); len(dead) != 1 || dead[0].Reason != "connection refused" {
		t.Errorf("dead letters %+v", dead)
	}
}

func TestSurvivesRestart(t *testing.T) {
	desk := newFakeDesk()
	cfg := helpdesktest.Config(t)
	o, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": desk}, Logger: helpdesktest.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened), helpdesktest.Note(in, tickets.Resolved))
	o.Close()
	o = openOutbox(t, cfg, desk, nil)
	if o.Pending() != 2 {
		t.Fatalf("%d calls after restart, want 2", o.Pending())
	}
	helpdesktest.Running(t, o)
	helpdesktest.Drained(t, o)
	if got := desk.kinds(helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())); !slices.Equal(got, []tickets.Occasion{tickets.Opened, tickets.Resolved}) {
		t.Errorf("calls %v", got)
	}
}

// A crash between the helpdesk's create and the outbox storing its id: the
// retry after restart finds the ticket by its external id.
func TestCrashAfterOpenAdoptsTheTicket(t *testing.T) {
	desk := newFakeDesk()
	cfg := helpdesktest.Config(t)
	o, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": desk}, Logger: helpdesktest.Quiet})
	if err != nil {
		t.Fatal(err)
	}
	o.SetAfterOpen(func() bool { return true }) // the process "dies" here
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	testenv.WaitFor(t, 10*time.Second, "the create", func() bool { desk.mu.Lock(); defer desk.mu.Unlock(); return desk.opened == 1 })
	cancel()
	<-done
	o.Close()
	o2 := openOutbox(t, cfg, desk, nil)
	if o2.Pending() != 1 {
		t.Fatalf("%d calls after the crash, want the create again", o2.Pending())
	}
	helpdesktest.Running(t, o2)
	helpdesktest.Drained(t, o2)
	info, _, _ := o2.Ticket(in.Key, "1")
	if desk.opened != 1 || info.Ticket.ID != "1" {
		t.Errorf("%d tickets opened, record %+v", desk.opened, info)
	}
}

func TestRoutingToNoneQueuesNothing(t *testing.T) {
	desk := newFakeDesk()
	cfg := helpdesktest.Config(t)
	cfg.Routing = helpdesk.Routing{
		Rules:   []helpdesk.Rule{{Name: "bolt-inhouse", Tenants: []string{"bolt"}, Target: helpdesk.Target{Helpdesk: helpdesk.None}}},
		Default: helpdesk.Target{Helpdesk: "desk"},
	}
	o := openOutbox(t, cfg, desk, nil)
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	in.Tenant = "bolt"
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened), helpdesktest.Note(in, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("%d calls queued for an incident routed to none", o.Pending())
	}
	info, ok, _ := o.Ticket(in.Key, "1")
	if !ok || info.Route.Helpdesk != helpdesk.None || info.Route.Rule != "bolt-inhouse" {
		t.Errorf("the route is not pinned: %+v", info)
	}
	// Resolving an occurrence that never had a ticket queues nothing either.
	helpdesktest.Enqueue(t, o, helpdesktest.Note(helpdesktest.Incident("0009", "prn1", wire.FaultPaperOut), tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a resolve without a ticket was queued")
	}
}

func TestPersonClosedInHelpdesk(t *testing.T) {
	desk := newFakeDesk()
	fb := &helpdesktest.Recorder{}
	o := openOutbox(t, helpdesktest.Config(t), desk, fb)
	helpdesktest.Running(t, o)
	in := helpdesktest.Incident("0001", "prn1", wire.FaultPaperOut)
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Opened))
	helpdesktest.Drained(t, o)
	desk.set(func() { desk.state["1"] = helpdesk.StateRejected })
	flap := in
	flap.Flaps = 4
	helpdesktest.Enqueue(t, o, helpdesktest.Note(flap, tickets.Flapping))
	helpdesktest.Drained(t, o)
	if got := desk.kinds(helpdesk.ExternalID(t.Name(), helpdesktest.Note(in, tickets.Opened).TicketKey())); len(got) != 1 {
		t.Errorf("posted to a rejected ticket: %v", got)
	}
	// The feedback follows the call's removal from the queue (outside the
	// outbox's lock), so it may come just after the outbox drained.
	testenv.WaitFor(t, 10*time.Second, "the person's close fed back", func() bool {
		return fb.ClosedState(in.Key) == helpdesk.StateRejected
	})
	helpdesktest.Enqueue(t, o, helpdesktest.Note(in, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a call was queued for a ticket a person closed")
	}
	if links := fb.Links(); len(links) != 1 || links[0].Ticket.ID != "1" || links[0].Helpdesk != "desk" {
		t.Errorf("linked: %+v", links)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestOutboxSaysWhatIsWrongWithItsConfig(t *testing.T) {
	cfg := helpdesktest.Config(t)
	cfg.Routing.Default.Helpdesk = "nowhere"
	cfg.Outbox.Path = ""
	_, err := helpdesk.Open(cfg, helpdesktest.Catalog(t), helpdesk.Options{Logger: helpdesktest.Quiet})
	if err == nil {
		t.Fatal("opened")
	}
	for _, want := range []string{`routing.default.helpdesk: no helpdesk named "nowhere"`, "outbox.path: required"} {
		if !contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
