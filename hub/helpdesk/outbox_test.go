package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func TestDeliversInOrderPerTicket(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, testConfig(t), desk, nil)
	var ins []tickets.Incident
	for i := range 8 {
		in := incident(fmt.Sprintf("%04d", i), "prn1", wire.FaultPaperOut)
		ins = append(ins, in)
		ext := ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())
		desk.failNext[ext] = i % 3 // some tickets fail a few times first
		flap := in
		flap.Flaps = 5
		closed := in
		closed.Reason = "done"
		enqueue(t, o, note(in, tickets.Opened), note(flap, tickets.Flapping), note(in, tickets.Resolved), note(closed, tickets.Closed))
	}
	running(t, o)
	drained(t, o)
	want := []tickets.Kind{tickets.Opened, tickets.Flapping, tickets.Resolved, tickets.Closed}
	for _, in := range ins {
		ext := ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())
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
	o := openOutbox(t, testConfig(t), desk, nil)
	a := incident("0001", "prn1", wire.FaultPaperOut)
	b := incident("0002", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(a, tickets.Opened), note(b, tickets.Opened))
	for p := 4; p >= 1; p-- {
		u := a
		u.Priority = p
		enqueue(t, o, note(u, tickets.Updated))
		enqueue(t, o, note(b, tickets.Updated))
	}
	enqueue(t, o, note(b, tickets.Resolved))
	if got := o.Pending(); got != 4 { // a: opened, updated; b: opened, resolved
		t.Fatalf("%d calls queued, want 4", got)
	}
	running(t, o)
	drained(t, o)
	extA := ExternalID(t.Name(), note(a, tickets.Opened).TicketKey())
	if got := desk.kinds(extA); !slices.Equal(got, []tickets.Kind{tickets.Opened, tickets.Updated}) {
		t.Fatalf("a: %v", got)
	}
	if last := desk.calls[desk.tickets[extA]][1]; last.Incident.Priority != 1 {
		t.Errorf("the merged update carries priority %d, want the newest (1)", last.Incident.Priority)
	}
	extB := ExternalID(t.Name(), note(b, tickets.Opened).TicketKey())
	if got := desk.kinds(extB); !slices.Equal(got, []tickets.Kind{tickets.Opened, tickets.Resolved}) {
		t.Errorf("b: %v", got)
	}
}

func TestSameNoteIsNotPostedTwice(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, testConfig(t), desk, nil)
	running(t, o)
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened))
	drained(t, o)
	enqueue(t, o, note(in, tickets.Updated))
	drained(t, o)
	enqueue(t, o, note(in, tickets.Updated)) // nothing changed
	drained(t, o)
	in.Detail = "DLE EOT 4 = 0x7E"
	enqueue(t, o, note(in, tickets.Updated))
	drained(t, o)
	ext := ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())
	if got := desk.kinds(ext); !slices.Equal(got, []tickets.Kind{tickets.Opened, tickets.Updated, tickets.Updated}) {
		t.Errorf("calls %v: the repeated update was posted", got)
	}
}

func TestUpdatesWaitForTheInterval(t *testing.T) {
	desk := newFakeDesk()
	cfg := testConfig(t)
	cfg.Outbox.UpdateInterval = time.Hour
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	o, err := Open(cfg, catalog(t), Options{Connectors: map[string]Connector{"desk": desk}, Logger: quiet, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	running(t, o)
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened))
	drained(t, o)
	in.Priority = 1
	enqueue(t, o, note(in, tickets.Updated))
	testenv.WaitFor(t, 10*time.Second, "the update to be postponed", func() bool {
		o.mu.Lock()
		defer o.mu.Unlock()
		for _, at := range o.due {
			return at.Equal(now.Add(time.Hour))
		}
		return false
	})
	ext := ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())
	if got := desk.kinds(ext); len(got) != 1 {
		t.Errorf("calls %v: the update did not wait", got)
	}
	if o.Pending() != 1 {
		t.Errorf("the update is no longer queued")
	}
}

func TestPermanentFailureGoesToDeadLetters(t *testing.T) {
	desk := newFakeDesk()
	o := openOutbox(t, testConfig(t), desk, nil)
	desk.fail = Permanent(errors.New("HTTP 422: project not found"))
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened))
	running(t, o)
	drained(t, o)
	dead, err := o.DeadLetters()
	if err != nil || len(dead) != 1 {
		t.Fatalf("dead letters %v, %v", dead, err)
	}
	d := dead[0]
	if d.Ticket != note(in, tickets.Opened).TicketKey() || d.Reason != "HTTP 422: project not found" || d.Attempts != 1 || d.Helpdesk != "desk" {
		t.Errorf("dead letter %+v", d)
	}
	desk.set(func() { desk.fail = nil })
	if err := o.Retry(d.Seq); err != nil {
		t.Fatal(err)
	}
	drained(t, o)
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
	cfg := testConfig(t)
	cfg.Outbox.GiveUpAfter = time.Hour
	now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { desk.mu.Lock(); defer desk.mu.Unlock(); return now }
	o, err := Open(cfg, catalog(t), Options{Connectors: map[string]Connector{"desk": desk}, Logger: quiet, Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	enqueue(t, o, note(incident("0001", "prn1", wire.FaultPaperOut), tickets.Opened))
	desk.set(func() { now = now.Add(2 * time.Hour) })
	running(t, o)
	drained(t, o)
	if dead, _ := o.DeadLetters(); len(dead) != 1 || dead[0].Reason != "connection refused" {
		t.Errorf("dead letters %+v", dead)
	}
}

func TestSurvivesRestart(t *testing.T) {
	desk := newFakeDesk()
	cfg := testConfig(t)
	o, err := Open(cfg, catalog(t), Options{Connectors: map[string]Connector{"desk": desk}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened), note(in, tickets.Resolved))
	o.Close()
	o = openOutbox(t, cfg, desk, nil)
	if o.Pending() != 2 {
		t.Fatalf("%d calls after restart, want 2", o.Pending())
	}
	running(t, o)
	drained(t, o)
	if got := desk.kinds(ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())); !slices.Equal(got, []tickets.Kind{tickets.Opened, tickets.Resolved}) {
		t.Errorf("calls %v", got)
	}
}

// A crash between the helpdesk's create and the outbox storing its id: the
// retry after restart finds the ticket by its external id.
func TestCrashAfterOpenAdoptsTheTicket(t *testing.T) {
	desk := newFakeDesk()
	cfg := testConfig(t)
	o, err := Open(cfg, catalog(t), Options{Connectors: map[string]Connector{"desk": desk}, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	o.afterOpen = func() bool { return true } // the process "dies" here
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened))
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
	running(t, o2)
	drained(t, o2)
	info, _, _ := o2.Ticket(in.Key, "1")
	if desk.opened != 1 || info.Ticket.ID != "1" {
		t.Errorf("%d tickets opened, record %+v", desk.opened, info)
	}
}

func TestRoutingToNoneQueuesNothing(t *testing.T) {
	desk := newFakeDesk()
	cfg := testConfig(t)
	cfg.Routing = Routing{
		Rules:   []Rule{{Name: "bolt-inhouse", Tenants: []string{"bolt"}, Target: Target{Helpdesk: None}}},
		Default: Target{Helpdesk: "desk"},
	}
	o := openOutbox(t, cfg, desk, nil)
	in := incident("0001", "prn1", wire.FaultPaperOut)
	in.Tenant = "bolt"
	enqueue(t, o, note(in, tickets.Opened), note(in, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("%d calls queued for an incident routed to none", o.Pending())
	}
	info, ok, _ := o.Ticket(in.Key, "1")
	if !ok || info.Route.Helpdesk != None || info.Route.Rule != "bolt-inhouse" {
		t.Errorf("the route is not pinned: %+v", info)
	}
	// Resolving an occurrence that never had a ticket queues nothing either.
	enqueue(t, o, note(incident("0009", "prn1", wire.FaultPaperOut), tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a resolve without a ticket was queued")
	}
}

func TestPersonClosedInHelpdesk(t *testing.T) {
	desk := newFakeDesk()
	fb := &recorder{}
	o := openOutbox(t, testConfig(t), desk, fb)
	running(t, o)
	in := incident("0001", "prn1", wire.FaultPaperOut)
	enqueue(t, o, note(in, tickets.Opened))
	drained(t, o)
	desk.set(func() { desk.state["1"] = StateRejected })
	flap := in
	flap.Flaps = 4
	enqueue(t, o, note(flap, tickets.Flapping))
	drained(t, o)
	if got := desk.kinds(ExternalID(t.Name(), note(in, tickets.Opened).TicketKey())); len(got) != 1 {
		t.Errorf("posted to a rejected ticket: %v", got)
	}
	if fb.closedState(in.Key) != StateRejected {
		t.Errorf("feedback: %v", fb.closed)
	}
	enqueue(t, o, note(in, tickets.Resolved))
	if o.Pending() != 0 {
		t.Errorf("a call was queued for a ticket a person closed")
	}
	if links := fb.links(); len(links) != 1 || links[0].Ticket.ID != "1" || links[0].Helpdesk != "desk" {
		t.Errorf("linked: %+v", links)
	}
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func TestOutboxSaysWhatIsWrongWithItsConfig(t *testing.T) {
	cfg := testConfig(t)
	cfg.Routing.Default.Helpdesk = "nowhere"
	cfg.Outbox.Path = ""
	_, err := Open(cfg, catalog(t), Options{Logger: quiet})
	if err == nil {
		t.Fatal("opened")
	}
	for _, want := range []string{`routing.default.helpdesk: no helpdesk named "nowhere"`, "outbox.path: required"} {
		if !contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
