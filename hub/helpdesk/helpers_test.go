package helpdesk

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func catalog(t testing.TB) *tickets.Catalog {
	t.Helper()
	c, err := tickets.Load(tickets.Config{})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// incident is a receipt printer fault in store s of tenant acme.
func incident(store, device string, fault wire.FaultCode) tickets.Incident {
	return tickets.Incident{
		Key: "acme/" + store + "/" + device + "/" + string(fault), Tenant: "acme", Store: store,
		StoreName: "Store " + store, Address: "Hauptstraße 1, Berlin", Country: "DE", TimeZone: "Europe/Berlin",
		Device: device, Kind: "receipt_printer", Location: "lane 2",
		Identity: wire.Identity{Vendor: "Epson", Model: "TM-T88VI", Serial: "SN-" + store + "-" + device, Firmware: "30.01"},
		Fault:    fault, Priority: 2, FirstSeen: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
		Changed:        time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC),
		SLADue:         time.Date(2026, 3, 2, 13, 0, 0, 0, time.UTC),
		DeviceCount30d: 2, ModelCount30d: 17,
	}
}

func note(in tickets.Incident, kind tickets.Kind) Notification {
	return Notification{Incident: in, Kind: kind, Occurrence: "1"}
}

// testConfig routes everything to one helpdesk named "desk" with fast
// retries and no throttle; tests adjust it.
func testConfig(t testing.TB) Config {
	return Config{
		Namespace: t.Name(),
		Routing:   Routing{Default: Target{Helpdesk: "desk"}},
		Outbox: OutboxConfig{
			Path: filepath.Join(t.TempDir(), "outbox.db"), Workers: 3,
			RetryMin: 5 * time.Millisecond, RetryMax: 50 * time.Millisecond,
			UpdateInterval: time.Nanosecond, SyncInterval: -1,
		},
	}
}

// fakeDesk is a helpdesk in memory: it records every call per ticket and
// can be told to fail.
type fakeDesk struct {
	mu       sync.Mutex
	tickets  map[string]string // external id → ticket id
	calls    map[string][]Call // ticket id → calls, in order received
	state    map[string]State
	failNext map[string]int // external id → failures to return before succeeding
	fail     error          // returned by every call while set
	opened   int
}

func newFakeDesk() *fakeDesk {
	return &fakeDesk{tickets: map[string]string{}, calls: map[string][]Call{}, state: map[string]State{}, failNext: map[string]int{}}
}

func (f *fakeDesk) check(ext string) error {
	if f.fail != nil {
		return f.fail
	}
	if f.failNext[ext] > 0 {
		f.failNext[ext]--
		return errors.New("fake: temporarily unavailable")
	}
	return nil
}

func (f *fakeDesk) Open(_ context.Context, c Call) (Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(c.ExternalID); err != nil {
		return Ticket{}, err
	}
	id, ok := f.tickets[c.ExternalID]
	if !ok {
		f.opened++
		id = fmt.Sprint(f.opened)
		f.tickets[c.ExternalID] = id
		f.state[id] = StateOpen
	}
	f.calls[id] = append(f.calls[id], c)
	return Ticket{ID: id}, nil
}

func (f *fakeDesk) Post(_ context.Context, t Ticket, c Call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(c.ExternalID); err != nil {
		return err
	}
	f.calls[t.ID] = append(f.calls[t.ID], c)
	switch c.Status {
	case StatusResolved:
		f.state[t.ID] = StateResolved
	case StatusClosed:
		f.state[t.ID] = StateClosed
	}
	return nil
}

func (f *fakeDesk) State(_ context.Context, t Ticket) (State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[t.ID], f.fail
}

func (f *fakeDesk) kinds(ext string) []tickets.Kind {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tickets.Kind
	for _, c := range f.calls[f.tickets[ext]] {
		out = append(out, c.Kind)
	}
	return out
}

func (f *fakeDesk) set(fn func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn()
}

func openOutbox(t testing.TB, cfg Config, desk Connector, fb Feedback) *Outbox {
	t.Helper()
	o, err := Open(cfg, catalog(t), Options{Connectors: map[string]Connector{"desk": desk}, Feedback: fb, Logger: quiet})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { o.Close() })
	return o
}

// running runs the outbox until the test ends.
func running(t testing.TB, o *Outbox) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { o.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
}

func drained(t testing.TB, o *Outbox) {
	t.Helper()
	testenv.WaitFor(t, 30*time.Second, "the outbox to drain", func() bool { return o.Pending() == 0 })
}

func enqueue(t testing.TB, o *Outbox, ns ...Notification) {
	t.Helper()
	for _, n := range ns {
		if err := o.Enqueue(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
}

// recorder is a Feedback that remembers what it heard.
type recorder struct {
	mu     sync.Mutex
	linked []Link
	closed map[string]State
}

func (r *recorder) Linked(_ context.Context, l Link) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.linked = append(r.linked, l)
}

func (r *recorder) ClosedByPerson(_ context.Context, l Link, s State) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed == nil {
		r.closed = map[string]State{}
	}
	r.closed[l.IncidentKey] = s
}

// links returns a copy of what Linked heard so far.
func (r *recorder) links() []Link {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Link(nil), r.linked...)
}

func (r *recorder) closedState(key string) State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed[key]
}
