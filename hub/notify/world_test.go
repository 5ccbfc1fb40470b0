package notify

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// A world is the hub's engine and store on virtual time, fed with agent
// messages the way ingest does, with every change committed.
type world struct {
	t   *testing.T
	clk *clock.Fake
	eng *incident.Engine
	pol incident.Policy
	st  *store.Bolt
	mu  sync.Mutex // one writer, as in the hub
	seq map[wire.AgentID]uint64
}

var berlin, _ = time.LoadLocation("Europe/Berlin")

// tuesday10 is a Tuesday, 10:00 in Berlin.
var tuesday10 = time.Date(2026, 11, 24, 10, 0, 0, 0, berlin)

var (
	mitte = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}
	nord  = wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "backoffice"}
)

func newWorld(t *testing.T, start time.Time) *world {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	clk := clock.NewFake(start)
	pol := incident.DefaultPolicy()
	w := &world{t: t, clk: clk, pol: pol, st: st, eng: incident.New(incident.Config{Policy: pol, Clock: clk}), seq: map[wire.AgentID]uint64{}}
	for _, id := range []wire.AgentID{mitte, nord} {
		w.online(id)
	}
	w.inventory(mitte, wire.StoreInfo{Name: "Acme Berlin Mitte", Address: "Invalidenstr. 1, 10115 Berlin", Country: "DE", TimeZone: "Europe/Berlin"},
		printer("prn3", "lane 3", "X5E0000003"), printer("prn4", "lane 4", "X5E0000004"))
	w.inventory(nord, wire.StoreInfo{Name: "Acme Berlin Nord", TimeZone: "Europe/Berlin"}, printer("prn7", "lane 1", "X5E0000007"))
	return w
}

func printer(id, loc, serial string) wire.DeviceInfo {
	return wire.DeviceInfo{ID: id, Kind: "receipt_printer", Driver: "escpos", Location: loc,
		Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: serial, Firmware: "30.01"}}
}

func (w *world) commit(c incident.Changes) {
	w.t.Helper()
	if err := w.st.Commit(c); err != nil {
		w.t.Fatal(err)
	}
}

// Do is the hub's writer (ingest.Pipeline.Do) for Feedback.
func (w *world) Do(_ context.Context, fn func(*incident.Engine) (incident.Changes, error)) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, err := fn(w.eng)
	if err != nil {
		return err
	}
	c.Merge(w.eng.Tick())
	return w.st.Commit(c)
}

func (w *world) header(id wire.AgentID, seq uint64) wire.Header {
	return wire.Header{V: wire.Version, AgentID: id, Boot: "boot-1", Seq: seq, Time: w.clk.Now()}
}

func (w *world) online(id wire.AgentID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, _ := w.eng.Status(&wire.Status{Header: w.header(id, 0), State: wire.PresenceOnline}, w.clk.Now())
	w.commit(c)
}

func (w *world) offline(id wire.AgentID) {
	w.mu.Lock()
	defer w.mu.Unlock()
	c, _ := w.eng.Status(&wire.Status{Header: w.header(id, 0), State: wire.PresenceOffline}, w.clk.Now())
	w.commit(c)
}

func (w *world) inventory(id wire.AgentID, info wire.StoreInfo, devs ...wire.DeviceInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.commit(w.eng.Inventory(&wire.Inventory{Header: w.header(id, 0), StoreInfo: info, Devices: devs}, w.clk.Now()))
}

// report sends a device's state now, as the agent's collector would.
func (w *world) report(id wire.AgentID, dev string, codes ...wire.FaultCode) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.seq[id]++
	ev := &wire.Event{Header: w.header(id, w.seq[id]), Device: dev, Kind: "receipt_printer", Since: w.clk.Now()}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, "DLE EOT 4 = 0x72"))
	}
	ev.State = wire.StateOf(ev.Faults)
	ev.Header.Type = wire.TypeEvent
	c, _ := w.eng.Event(ev, w.clk.Now())
	c.Merge(w.eng.Tick())
	w.commit(c)
}

// advance moves virtual time on, running every engine deadline when it
// falls due.
func (w *world) advance(d time.Duration) {
	w.t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	end := w.clk.Now().Add(d)
	for {
		next := w.eng.NextDeadline()
		if next.IsZero() || next.After(end) {
			break
		}
		if !next.After(w.clk.Now()) {
			next = w.clk.Now().Add(time.Second)
		}
		w.clk.Set(next)
		w.commit(w.eng.Tick())
	}
	w.clk.Set(end)
	w.commit(w.eng.Tick())
}

// episode lets a fault last d and clear, with a day to calm down after.
func (w *world) episode(id wire.AgentID, dev string, code wire.FaultCode, d time.Duration) {
	w.report(id, dev, code)
	w.advance(d)
	w.report(id, dev)
	w.advance(24*time.Hour - d)
}

// fail lets a fault last long enough to open an incident (paper_jam's 5
// minutes) and returns the incident's id.
func (w *world) fail(id wire.AgentID, dev string, code wire.FaultCode) string {
	w.t.Helper()
	w.report(id, dev, code)
	w.advance(6 * time.Minute)
	return w.last(incident.NotifyOpened).Incident.ID
}

// stream returns the whole notification stream.
func (w *world) stream() []incident.Notification {
	w.t.Helper()
	out, err := w.st.Notifications(0, 100000)
	if err != nil {
		w.t.Fatal(err)
	}
	return out
}

// last returns the newest notification of a kind.
func (w *world) last(kind incident.NotificationKind) incident.Notification {
	w.t.Helper()
	all := w.stream()
	for i := len(all) - 1; i >= 0; i-- {
		if all[i].Kind == kind {
			return all[i]
		}
	}
	w.t.Fatalf("no %s notification in %d", kind, len(all))
	return incident.Notification{}
}

func (w *world) incident(id string) incident.Incident {
	w.t.Helper()
	inc, err := w.st.Incident(id)
	if err != nil {
		w.t.Fatal(err)
	}
	return inc
}

func (w *world) bridge(out Outbox) *Bridge {
	return New(Options{Stream: w.st, Counts: w.st, Inventory: w.eng, Outbox: out, Policy: w.pol, PublicURL: "https://hub.example.com/",
		RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond, Now: w.clk.Now})
}

// run runs b until the test ends or stop is called.
func run(t *testing.T, b *Bridge) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Run(ctx) }()
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Error(err)
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// recorder is an outbox that keeps what it is given and can be told to
// fail.
type recorder struct {
	mu   sync.Mutex
	got  []helpdesk.Delivery
	fail int
}

func (r *recorder) Enqueue(_ context.Context, n helpdesk.Delivery) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail > 0 {
		r.fail--
		return errors.New("outbox: disk full")
	}
	r.got = append(r.got, n)
	return nil
}

func (r *recorder) list() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.got))
	for i, n := range r.got {
		out[i] = fmt.Sprintf("%s %s", n.Occurrence, n.Kind)
	}
	return out
}

// desk is a helpdesk in memory behind the real outbox: it finds tickets
// by external id like Redmine's search, and keeps every call.
type desk struct {
	mu      sync.Mutex
	tickets map[string]string // external id -> ticket id
	calls   []string          // "ticket kind status"
	state   map[string]helpdesk.State
}

func newDesk() *desk { return &desk{tickets: map[string]string{}, state: map[string]helpdesk.State{}} }

func (d *desk) Open(_ context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	id, ok := d.tickets[c.ExternalID]
	if !ok {
		id = fmt.Sprint(100 + len(d.tickets))
		d.tickets[c.ExternalID] = id
		d.calls = append(d.calls, fmt.Sprintf("%s %s", id, c.Kind))
	}
	return helpdesk.Ticket{ID: id, URL: "https://desk.example.com/" + id}, nil
}

func (d *desk) Post(_ context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.calls = append(d.calls, fmt.Sprintf("%s %s %s", t.ID, c.Kind, c.Status))
	return nil
}

func (d *desk) State(_ context.Context, t helpdesk.Ticket) (helpdesk.State, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if s, ok := d.state[t.ID]; ok {
		return s, nil
	}
	return helpdesk.StateOpen, nil
}

func (d *desk) list() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.calls...)
}
