package ingest

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

var agentID = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}

type harness struct {
	t   *testing.T
	p   *Pipeline
	st  *store.Bolt
	clk *clock.Fake
	m   *Metrics
}

func start(t *testing.T) *harness {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	m := NewMetrics(prometheus.NewRegistry())
	p := New(Options{Engine: incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk}), Store: st, Clock: clk, Metrics: m, Keep: 4})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		st.Close()
	})
	return &harness{t: t, p: p, st: st, clk: clk, m: m}
}

func (h *harness) send(topic string, payload []byte) {
	h.t.Helper()
	if err := h.p.Handle(context.Background(), topic, payload, "test"); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) msg(m wire.Message) []byte {
	h.t.Helper()
	b, err := wire.Encode(m)
	if err != nil {
		h.t.Fatal(err)
	}
	return b
}

func (h *harness) event(seq uint64, dev string, codes ...wire.FaultCode) []byte {
	ev := &wire.Event{Header: wire.Header{AgentID: agentID, Boot: "b1", Seq: seq, Time: h.clk.Now()}, Device: dev, Since: h.clk.Now()}
	for _, c := range codes {
		ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
	}
	ev.State = wire.StateOf(ev.Faults)
	return h.msg(ev)
}

// tick lets the writer run the engine's timers at the fake clock's now.
func (h *harness) advance(d time.Duration) {
	h.t.Helper()
	h.clk.Advance(d)
	if err := h.p.Do(context.Background(), func(*incident.Engine) (incident.Changes, error) { return incident.Changes{}, nil }); err != nil {
		h.t.Fatal(err)
	}
}

func counter(c prometheus.Counter) float64 {
	var m dto.Metric
	_ = c.Write(&m)
	return m.GetCounter().GetValue()
}

func TestRejectedMessagesAreCountedAndKept(t *testing.T) {
	h := start(t)
	events := agentID.Topic(wire.ChannelEvents)
	other := wire.AgentID{Tenant: "acme", Store: "s0001", Agent: "backoffice"}
	spoof := &wire.Event{Header: wire.Header{AgentID: other, Boot: "b1", Seq: 1, Time: h.clk.Now()}, Device: "pt-1",
		State: wire.StateOK, Since: h.clk.Now()}
	cases := []struct {
		topic   string
		payload []byte
		reason  string
	}{
		{events, []byte("not json"), "malformed"},
		{events, []byte(`{"v":9,"type":"event"}`), "unsupported_version"},
		{events, h.msg(&wire.Status{Header: wire.Header{AgentID: agentID, Boot: "b", Time: h.clk.Now()}, State: "online"}), "wrong_type"},
		{events, []byte{0xff, 0x00, 0x13}, "malformed"},
		{"storewatch/v1/acme/s0042/backoffice/nonsense", []byte("{}"), "topic"},
		{events, h.msg(spoof), "identity_mismatch"},
	}
	for _, c := range cases {
		h.send(c.topic, c.payload)
		if got := counter(h.m.Rejected.WithLabelValues(c.reason)); got < 1 {
			t.Errorf("%s: not counted as %s", c.payload, c.reason)
		}
	}
	kept := h.p.Rejected()
	if len(kept) != 4 { // the ring keeps the last four
		t.Fatalf("kept %d", len(kept))
	}
	if kept[0].Reason != "identity_mismatch" || kept[0].Topic != events || kept[0].Client != "test" {
		t.Errorf("newest kept: %+v", kept[0])
	}
	if kept[2].Payload[:9] != "(binary) " {
		t.Errorf("binary payload kept as %q", kept[2].Payload)
	}
	if devs := h.p.eng.Devices(); len(devs) != 0 {
		t.Errorf("a rejected message reached the engine: %+v", devs)
	}
}

func TestReplayedOutboxChangesNothing(t *testing.T) {
	h := start(t)
	h.send(agentID.Topic(wire.ChannelStatus), h.msg(&wire.Status{Header: wire.Header{AgentID: agentID, Boot: "b1", Time: h.clk.Now()}, State: "online"}))
	var outbox [][]byte
	record := func(p []byte) { outbox = append(outbox, p); h.send(agentID.Topic(wire.ChannelEvents), p) }
	record(h.event(1, "receipt-1", wire.FaultPaperOut))
	record(h.event(2, "pt-1", wire.FaultPTHardware))
	h.advance(3 * time.Minute)
	record(h.event(3, "receipt-1"))
	h.advance(5 * time.Minute)
	record(h.event(4, "scale-1", wire.FaultUnreachable))
	h.advance(10 * time.Minute)

	snapshot := func() string {
		inc, err := h.st.Incidents(store.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		ns, _ := h.st.Notifications(0, 0)
		devs := h.p.eng.Devices()
		for i := range devs {
			devs[i].Changes = nil // they age out with the hour that passes, replay or not
		}
		b, _ := json.Marshal([]any{inc, devs, len(ns)})
		return string(b)
	}
	before := snapshot()
	// The agent reconnects and replays its outbox: twice, shuffled, from
	// several connections at once.
	r := rand.New(rand.NewPCG(1, 2))
	var wg sync.WaitGroup
	for range 4 {
		order := r.Perm(len(outbox))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, i := range order {
				if err := h.p.Handle(context.Background(), agentID.Topic(wire.ChannelEvents), outbox[i], "replay"); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	h.advance(time.Hour)
	if after := snapshot(); after != before {
		t.Errorf("replay changed the tickets:\nbefore %s\nafter  %s", before, after)
	}
	if got := counter(h.m.Messages.WithLabelValues("events", "duplicate")); got != 16 {
		t.Errorf("duplicates counted: %v, want 16", got)
	}
}

func TestGapsAreCountedPerAgent(t *testing.T) {
	h := start(t)
	for _, seq := range []uint64{5, 6, 9, 10, 8} {
		h.send(agentID.Topic(wire.ChannelEvents), h.event(seq, "receipt-1"))
	}
	a := h.p.eng.Agents()[0]
	if a.Seq.Gaps != 2 || a.Seq.Late != 1 || a.Seq.Outstanding() != 1 {
		t.Errorf("sequence accounting %+v", a.Seq)
	}
	if got := counter(h.m.Gaps); got != 2 {
		t.Errorf("gap metric %v", got)
	}
}

func FuzzHandle(f *testing.F) {
	for _, name := range []string{"event.json", "metrics.json", "status.json", "inventory.json"} {
		b, err := readGolden(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add("storewatch/v1/acme/s0042/pos-backoffice/events", b)
	}
	f.Add("storewatch/v1/acme/s0042/pos-backoffice/status", []byte(`{"v":1}`))
	f.Add("x", []byte{})
	st, err := store.OpenBolt(filepath.Join(f.TempDir(), "hub.db"))
	if err != nil {
		f.Fatal(err)
	}
	defer st.Close()
	p := New(Options{Engine: incident.New(incident.Config{Policy: incident.DefaultPolicy()}), Store: st})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go p.Run(ctx)
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		if err := p.Handle(ctx, topic, payload, "fuzz"); err != nil {
			t.Fatalf("Handle: %v", err)
		}
	})
}

// After is how a broker's end-of-backlog marker reaches the engine: it runs
// once everything handed over before it is applied, and nothing handed over
// after it, whatever the batches.
func TestAfterRunsBehindWhatCameBeforeIt(t *testing.T) {
	h := start(t)
	ctx := context.Background()
	var wg sync.WaitGroup
	send := func(from, to int) {
		for i := from; i < to; i++ {
			wg.Add(1)
			h.p.HandleAsync(ctx, agentID.Topic(wire.ChannelEvents), h.event(uint64(i+1), fmt.Sprintf("dev-%03d", i)), "test", func(err error) {
				if err != nil {
					t.Error(err)
				}
				wg.Done()
			})
		}
	}
	send(0, 700)
	seen := make(chan int, 1)
	committed := make(chan error, 1)
	h.p.After(ctx, func(e *incident.Engine) { seen <- len(e.Devices()) }, func(err error) { committed <- err })
	send(700, 1000)
	if err := <-committed; err != nil {
		t.Fatal(err)
	}
	if n := <-seen; n != 700 {
		t.Errorf("After saw %d devices, want the 700 handed over before it", n)
	}
	wg.Wait()
	if n := len(h.p.eng.Devices()); n != 1000 {
		t.Errorf("%d devices in the end, want 1000", n)
	}
}

// heldStore commits to a Bolt store, but while held a commit waits for
// release; it notes what each commit held.
type heldStore struct {
	*store.Bolt
	mu      sync.Mutex
	held    chan struct{} // nil: commits go through
	entered int           // commits begun
	commits []string      // per commit: its devices and "opened"
}

func (s *heldStore) Commit(c incident.Changes) error {
	s.mu.Lock()
	s.entered++
	held := s.held
	var what []string
	for _, d := range c.Devices {
		what = append(what, d.ID)
	}
	for _, n := range c.Notifications {
		if n.Kind == incident.NotifyOpened {
			what = append(what, "opened")
		}
	}
	s.commits = append(s.commits, fmt.Sprint(what))
	s.mu.Unlock()
	if held != nil {
		<-held
	}
	return s.Bolt.Commit(c)
}

func (s *heldStore) begun() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.entered
}

// TestDeadlinesAreDecidedWhileACommitIsSlow: while the committer is busy
// (a slow commit and the change set after it waiting), a fault's
// hold-down that ends is decided at once, and its ticket is committed
// with the change set the writer is waiting to hand over, not after it.
func TestDeadlinesAreDecidedWhileACommitIsSlow(t *testing.T) {
	bolt, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	st := &heldStore{Bolt: bolt}
	clk := clock.NewFake(time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC))
	p := New(Options{Engine: incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk}), Store: st, Clock: clk,
		Metrics: NewMetrics(prometheus.NewRegistry())})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
		bolt.Close()
	}()
	h := &harness{t: t, p: p, clk: clk}
	h.send(agentID.Topic(wire.ChannelStatus), h.msg(&wire.Status{Header: wire.Header{AgentID: agentID, Boot: "b1", Time: clk.Now()}, State: "online"}))
	h.send(agentID.Topic(wire.ChannelEvents), h.event(1, "receipt-1", wire.FaultPaperOut)) // its hold-down runs

	st.mu.Lock()
	st.held = make(chan struct{})
	st.mu.Unlock()
	var wg sync.WaitGroup
	handOver := func(seq uint64, dev string) {
		wg.Add(1)
		p.HandleAsync(ctx, agentID.Topic(wire.ChannelEvents), h.event(seq, dev), "test", func(err error) {
			if err != nil {
				t.Error(err)
			}
			wg.Done()
		})
		waitFor(t, "the writer to take "+dev, func() bool { return len(p.in) == 0 })
		time.Sleep(20 * time.Millisecond) // and to hand it on
	}
	handOver(2, "dev-a") // committing, held
	waitFor(t, "the commit of dev-a to begin", func() bool { return st.begun() == 3 })
	handOver(3, "dev-b") // waiting for the committer
	handOver(4, "dev-c") // the writer waits to hand it over
	waitFor(t, "the writer to wait with a timer", func() bool { return clk.Pending() == 1 })
	clk.Advance(time.Hour) // far past the paper-out hold-down
	waitFor(t, "the writer to decide and wait again", func() bool { return clk.Pending() == 1 })
	close(st.held)
	wg.Wait()
	h.advance(0) // and whatever it had left to commit

	st.mu.Lock()
	commits := st.commits[2:]
	st.mu.Unlock()
	want := []string{"[dev-a]", "[dev-b]", "[dev-c opened]"}
	if len(commits) < 3 || fmt.Sprint(commits[:3]) != fmt.Sprint(want) {
		t.Errorf("commits after the slow one began: %v, want the ticket opened with dev-c: %v", commits, want)
	}
}

// waitFor polls cond for up to 5 s; it does not fail the test (what
// comes after does, if cond mattered), so that code that never gets
// there fails on the outcome rather than hanging.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Logf("gave up waiting for %s", what)
			return
		}
	}
}
