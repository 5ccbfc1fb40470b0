package collector

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// recordingSink keeps what the collector reports.
type recordingSink struct {
	mu      sync.Mutex
	events  []wire.Event
	samples [][]wire.Sample
}

func (s *recordingSink) Event(_ context.Context, ev wire.Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.events = append(s.events, ev)
	return nil
}

func (s *recordingSink) Samples(_ context.Context, b []wire.Sample) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, b)
	return nil
}

func (s *recordingSink) states(device string) []wire.HealthState {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []wire.HealthState
	for _, e := range s.events {
		if e.Device == device {
			out = append(out, e.State)
		}
	}
	return out
}

// script is a device whose readings are set by the test.
type script struct {
	mu      sync.Mutex
	reading drivers.Reading
	err     error
	probes  int
}

func (s *script) set(r drivers.Reading, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reading, s.err = r, err
}

func (s *script) Probe(context.Context) (drivers.Reading, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.probes++
	return s.reading, s.err
}

func faults(codes ...wire.FaultCode) drivers.Reading {
	var r drivers.Reading
	for _, c := range codes {
		r.Faults = append(r.Faults, wire.NewFault(c, ""))
	}
	return r
}

// harness runs a collector on a fake clock. step advances virtual time and
// waits until the schedule is asleep again with no probe in flight, so the
// test never sleeps.
type harness struct {
	t      testing.TB
	clk    *clock.Fake
	sink   *recordingSink
	c      *Collector
	timers int
	cancel context.CancelFunc
	done   chan struct{}
}

func start(t testing.TB, devs []Device, grace time.Duration) *harness {
	t.Helper()
	return startWith(t, devs, Options{Grace: grace})
}

// startWith is start with options of the test's (Clock and SampleInterval
// are the harness's).
func startWith(t testing.TB, devs []Device, o Options) *harness {
	t.Helper()
	h := &harness{t: t, clk: clock.NewFake(t0), sink: &recordingSink{}, timers: 2, done: make(chan struct{})}
	o.SampleInterval, o.Clock = time.Minute, h.clk
	h.c = New(devs, h.sink, o)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { h.c.Run(ctx); close(h.done) }()
	h.settle()
	t.Cleanup(h.stop)
	return h
}

func (h *harness) step(d time.Duration) {
	h.clk.Advance(d)
	h.settle()
}

// settle waits for the schedule's timer and the flush loop's, and for the
// probes started to be recorded (the schedule arms its timer for the next
// device while a probe runs).
func (h *harness) settle() {
	for {
		h.clk.WaitForTimers(h.timers)
		if h.c.inflight.Load() == 0 {
			return
		}
		runtime.Gosched()
	}
}

func (h *harness) stop() {
	h.cancel()
	<-h.done
}

func dev(id string, p drivers.Prober) Device {
	return Device{ID: id, Kind: "receipt_printer", Resource: "tcp:" + id, Interval: 10 * time.Second, Timeout: time.Second, Debounce: 2, Prober: p}
}

func equal(a []wire.HealthState, b ...wire.HealthState) bool {
	return fmt.Sprint(a) == fmt.Sprint(b)
}

func TestOneFailedPollRaisesNoEvent(t *testing.T) {
	p := &script{}
	h := start(t, []Device{dev("printer", p)}, 0)
	h.step(0) // first poll: ok
	p.set(drivers.Reading{}, errors.New("read timeout"))
	h.step(10 * time.Second)
	p.set(drivers.Reading{}, nil)
	h.step(10 * time.Second)
	h.step(10 * time.Second)
	if got := h.sink.states("printer"); !equal(got, wire.StateOK) {
		t.Errorf("events = %v, want only the first ok", got)
	}
}

func TestFaultThenRecovery(t *testing.T) {
	p := &script{}
	h := start(t, []Device{dev("printer", p)}, 0)
	h.step(0)
	p.set(faults(wire.FaultPaperOut), nil)
	h.step(10 * time.Second)
	h.step(10 * time.Second)
	p.set(drivers.Reading{}, nil)
	h.step(10 * time.Second)
	h.step(10 * time.Second)
	if got := h.sink.states("printer"); !equal(got, wire.StateOK, wire.StateFault, wire.StateOK) {
		t.Fatalf("events = %v", got)
	}
	ev := h.sink.events[1]
	if ev.Previous != wire.StateOK || len(ev.Faults) != 1 || ev.Faults[0].Code != wire.FaultPaperOut ||
		ev.Faults[0].Severity != wire.SeverityError || !ev.Since.Equal(t0.Add(10*time.Second)) || !ev.Time.Equal(t0.Add(20*time.Second)) {
		t.Errorf("fault event = %+v", ev)
	}
	if st := h.c.States()[0]; st.State != wire.StateOK {
		t.Errorf("States() = %+v", st)
	}
}

func TestStartupGrace(t *testing.T) {
	down := &script{}
	down.set(drivers.Reading{}, fmt.Errorf("dial: %w", transport.ErrUnreachable))
	slow := &script{}
	slow.set(drivers.Reading{}, errors.New("no answer"))
	h := start(t, []Device{dev("down", down), dev("slow", slow)}, 45*time.Second)
	h.step(0)
	h.step(10 * time.Second)
	slow.set(drivers.Reading{}, nil) // comes up during grace
	h.step(10 * time.Second)
	h.step(10 * time.Second)
	h.step(10 * time.Second)
	if got := h.sink.states("down"); len(got) != 0 {
		t.Fatalf("events during grace = %v", got)
	}
	if got := h.sink.states("slow"); !equal(got, wire.StateOK) {
		t.Errorf("slow starter: %v, want ok once it came up", got)
	}
	h.step(10 * time.Second) // 50s: grace over, still down
	if got := h.sink.states("down"); !equal(got, wire.StateUnreachable) {
		t.Fatalf("after grace: %v, want unreachable", got)
	}
	// Reported once the grace is over, down since its first reading: the
	// hub counts the hold-down of such a fault from the grace's end, and
	// this since tells it the fault began within the grace.
	ev := h.sink.events[len(h.sink.events)-1]
	if ev.Faults[0].Code != wire.FaultUnreachable || !ev.Since.Equal(t0) || !ev.Time.Equal(t0.Add(50*time.Second)) {
		t.Errorf("event after the grace: faults %+v since %v at %v, want unreachable since the first reading %v", ev.Faults, ev.Since, ev.Time, t0)
	}
}

func TestUnexpectedIdentityRaisesUnknownDevice(t *testing.T) {
	p := &script{}
	p.set(drivers.Reading{Identity: &wire.Identity{Model: "TM-T20III", Serial: "Z9"}}, nil)
	d := dev("printer", p)
	d.Expected = &wire.Identity{Serial: "X5E1"}
	h := start(t, []Device{d}, 0)
	h.step(0)
	h.step(10 * time.Second)
	got := h.sink.events
	if len(got) != 1 || got[0].State != wire.StateDegraded || got[0].Faults[0].Code != wire.FaultUnknownDevice {
		t.Fatalf("events = %+v", got)
	}
	// The identity sticks between probes that do not read it.
	p.set(drivers.Reading{}, nil)
	h.step(10 * time.Second)
	if st := h.c.States()[0]; st.State != wire.StateDegraded || st.Identity.Serial != "Z9" {
		t.Errorf("state = %+v", st)
	}
}

func TestBusyDeviceIsNotDisturbedOrFaulted(t *testing.T) {
	p := &script{}
	p.set(drivers.Reading{}, fmt.Errorf("payment in progress: %w", drivers.ErrBusy))
	d := dev("pt", p)
	d.Interval = 30 * time.Second
	h := start(t, []Device{d}, 0)
	h.step(0)
	h.step(15 * time.Second) // busy retries after half an interval
	if p.probes != 2 {
		t.Errorf("probes = %d, want a retry after half the interval", p.probes)
	}
	// The hub learns the device is there and busy; no fault, no ticket.
	if got := h.sink.events; len(got) != 1 || got[0].State != wire.StateBusy || len(got[0].Faults) != 0 {
		t.Errorf("events = %+v, want one busy event without faults", got)
	}
}

// posHolds is the error a driver returns for a port the POS application
// holds (transport.BusyError, as the serial transport makes it).
var posHolds = fmt.Errorf("escpos serial:///dev/ttyS0: %w", &transport.BusyError{
	Resource: "/dev/ttyS0", Holder: transport.Holder{Process: "POS.exe", PID: 4312}, How: "lock file /var/lock/LCK..ttyS0"})

// The POS application printing a receipt now and then holds the port for a
// moment: one busy reading between healthy ones changes nothing.
func TestABriefBusyReadingIsNoEvent(t *testing.T) {
	p := &script{}
	h := start(t, []Device{dev("printer", p)}, 0)
	h.step(0)
	p.set(drivers.Reading{}, posHolds)
	h.step(10 * time.Second)
	p.set(drivers.Reading{}, nil)
	h.step(5 * time.Second) // busy: back after half the interval
	h.step(10 * time.Second)
	if got := h.sink.states("printer"); !equal(got, wire.StateOK) {
		t.Errorf("events = %v, want only the first ok", got)
	}
}

// A device the POS application keeps is busy, with the holder named; it
// turns into one busy_too_long fault when that lasts beyond the limit, and
// back to ok when the port is free again.
func TestBusyBeyondTheLimitIsReportedOnce(t *testing.T) {
	p := &script{}
	d := dev("scale", p)
	d.BusyLimit = time.Minute
	h := start(t, []Device{d}, 0)
	h.step(0) // ok
	p.set(drivers.Reading{}, posHolds)
	for range 20 { // ten minutes of polls every 5s (half the interval while busy)
		h.step(5 * time.Second)
	}
	if st := h.c.States()[0]; st.Holder == nil || st.Holder.String() != "in use by POS.exe (pid 4312)" {
		t.Errorf("state holder = %+v", st.Holder)
	}
	p.set(drivers.Reading{}, nil)
	h.step(5 * time.Second)
	h.step(10 * time.Second)
	if got := h.sink.states("scale"); !equal(got, wire.StateOK, wire.StateBusy, wire.StateFault, wire.StateOK) {
		t.Fatalf("events = %v, want ok, busy, one fault, ok", got)
	}
	busy, long := h.sink.events[1], h.sink.events[2]
	if busy.Holder == nil || busy.Holder.PID != 4312 || !strings.Contains(busy.Reason, "lock file") {
		t.Errorf("busy event = %+v, want the holder and how it was found", busy)
	}
	if len(long.Faults) != 1 || long.Faults[0].Code != wire.FaultBusyTooLong ||
		!strings.Contains(long.Faults[0].Detail, "in use by POS.exe (pid 4312) since") || long.Holder == nil {
		t.Errorf("busy_too_long event = %+v", long)
	}
	// It came a minute (plus debounce) after the busy run began, not later.
	if at := long.Time.Sub(busy.Since); at < time.Minute || at > time.Minute+15*time.Second {
		t.Errorf("busy_too_long after %v of busy, want about the limit of 1m", at)
	}
}

func TestBusyWithoutALimitIsNeverAFault(t *testing.T) {
	p := &script{}
	p.set(drivers.Reading{}, posHolds)
	h := start(t, []Device{dev("scale", p)}, 0)
	for range 100 {
		h.step(5 * time.Second)
	}
	if got := h.sink.states("scale"); !equal(got, wire.StateBusy) {
		t.Errorf("events = %v, want busy only", got)
	}
}

func TestProbeOnceSaysWhoHoldsTheDevice(t *testing.T) {
	p := &script{}
	p.set(drivers.Reading{}, posHolds)
	h := start(t, []Device{dev("printer", p)}, 0)
	r, err := h.c.ProbeOnce(context.Background(), "printer")
	if err != nil {
		t.Fatal(err)
	}
	if !r.Busy || r.State != wire.StateBusy || r.Holder == nil || r.Holder.Process != "POS.exe" {
		t.Errorf("result = %+v", r)
	}
}

func TestSamplesAreCollapsedAndFlushed(t *testing.T) {
	p := &script{}
	h := start(t, []Device{dev("pc", p)}, 0)
	for i := range 5 {
		p.set(drivers.Reading{Measurements: map[string]float64{"rtt_ms": float64(i)}}, nil)
		h.step(10 * time.Second)
	}
	// At one minute the flush and a poll fall due together; the poll reads
	// the same value as the last one, so their order does not matter.
	h.step(10 * time.Second)
	if len(h.sink.samples) != 1 {
		t.Fatalf("flushes = %d, want 1 after a minute", len(h.sink.samples))
	}
	b := h.sink.samples[0]
	if len(b) != 1 || b[0].Name != "rtt_ms" || b[0].Value != 4 {
		t.Errorf("batch = %+v, want only the latest rtt_ms", b)
	}
}

// exclusive fails the test if two probes of the same port overlap.
type exclusive struct {
	inUse *atomic.Int32
	seen  *atomic.Int32
	t     *testing.T
}

func (e exclusive) Probe(ctx context.Context) (drivers.Reading, error) {
	if e.inUse.Add(1) > 1 {
		e.t.Error("two probes used the same port at once")
	}
	e.seen.Add(1)
	time.Sleep(time.Millisecond) // hold the port long enough for an overlap to show
	e.inUse.Add(-1)
	return drivers.Reading{}, nil
}

func TestDevicesOnOnePortTakeTurns(t *testing.T) {
	var inUse, seen atomic.Int32
	var devs []Device
	for i := range 4 {
		d := dev(fmt.Sprintf("scale%d", i), exclusive{&inUse, &seen, t})
		d.Resource = "serial:/dev/ttyS0"
		devs = append(devs, d)
	}
	c := New(devs, &recordingSink{}, Options{})
	for range 5 {
		c.ProbeAll(context.Background())
	}
	if seen.Load() != 20 {
		t.Errorf("probes = %d, want 20", seen.Load())
	}
}

func TestProbeOnceReportsWithoutDebounce(t *testing.T) {
	p := &script{}
	p.set(faults(wire.FaultCoverOpen), nil)
	sink := &recordingSink{}
	c := New([]Device{dev("printer", p)}, sink, Options{})
	r, err := c.ProbeOnce(context.Background(), "printer")
	if err != nil || r.State != wire.StateFault || r.Faults[0].Code != wire.FaultCoverOpen {
		t.Fatalf("ProbeOnce = %+v, %v", r, err)
	}
	if len(sink.events) != 0 {
		t.Error("ProbeOnce reported to the sink")
	}
	if _, err := c.ProbeOnce(context.Background(), "nope"); err == nil {
		t.Error("ProbeOnce of an unknown device succeeded")
	}
}

func TestUnknownDeviceIsNotRaisedTwice(t *testing.T) {
	p := &script{}
	r := faults(wire.FaultUnknownDevice)
	r.Identity = &wire.Identity{Serial: "Z9"}
	p.set(r, nil)
	d := dev("pt", p)
	d.Expected = &wire.Identity{Serial: "X5E1"}
	c := New([]Device{d}, &recordingSink{}, Options{})
	res, err := c.ProbeOnce(context.Background(), "pt")
	if err != nil || len(res.Faults) != 1 {
		t.Errorf("faults = %+v, %v; want the driver's one unknown_device", res.Faults, err)
	}
}

func (s *script) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.probes
}

// With Batch, a probe due soon after another runs with it, and a device
// probed early keeps its rhythm: over 110 s a device of 11 s is probed 11
// times, not more.
func TestBatchRunsProbesDueSoonTogether(t *testing.T) {
	cases := []struct {
		name      string
		batch     time.Duration
		bAfter10s int
	}{
		{"each when due", 0, 1},
		{"batched", 2 * time.Second, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := &script{}, &script{}
			db := dev("b", b)
			db.Interval = 11 * time.Second
			h := startWith(t, []Device{dev("a", a), db}, Options{Batch: c.batch})
			h.step(10 * time.Second) // a is due; b is due at 11 s
			if got := b.count(); got != c.bAfter10s {
				t.Fatalf("b probed %d times after 10 s, want %d", got, c.bAfter10s)
			}
			for range 100 {
				h.step(time.Second)
			}
			if got, want := a.count(), 12; got != want { // 0, 10, ... 110 s
				t.Errorf("a (every 10 s) probed %d times in 110 s, want %d", got, want)
			}
			if got, want := b.count(), 11; got != want { // 0, 11, ... 110 s
				t.Errorf("b (every 11 s) probed %d times in 110 s, want %d", got, want)
			}
		})
	}
}

// A busy device is never probed early to join a batch: the POS application
// has it, and the wait after a busy reading is the least it is left alone.
func TestBatchLeavesABusyDeviceItsWait(t *testing.T) {
	a, b := &script{}, &script{}
	b.set(drivers.Reading{}, &transport.BusyError{Resource: "/dev/ttyS0", How: "test"})
	da, db := dev("a", a), dev("b", b)
	da.Interval = 3 * time.Second // due at 3 s, may run 1.5 s early
	h := startWith(t, []Device{da, db}, Options{Batch: 5 * time.Second})
	h.step(3 * time.Second) // a runs; b is due 5 s after its busy reading
	if got := b.count(); got != 1 {
		t.Fatalf("busy device probed %d times after 3 s, want 1 (not before 5 s)", got)
	}
	h.step(2 * time.Second)
	if got := b.count(); got != 2 {
		t.Fatalf("busy device probed %d times after 5 s, want 2", got)
	}
}

// deepProber answers after calls as deep as a driver's exchange (a dial,
// a protocol read, their buffers): a stack of tens of kilobytes.
type deepProber struct{}

//go:noinline
func deep(n int) byte {
	var frame [1 << 10]byte
	frame[n%len(frame)] = byte(n)
	if n == 0 {
		return frame[0]
	}
	return deep(n-1) + frame[n%len(frame)]
}

func (deepProber) Probe(context.Context) (drivers.Reading, error) {
	deep(24)
	return drivers.Reading{}, nil
}

// BenchmarkProbeRound is the collector's own cost per probe (scheduling,
// the goroutine that runs it, recording) for probes whose calls need a
// driver's stack: 16 devices due together, one round per op.
func BenchmarkProbeRound(b *testing.B) {
	var devs []Device
	for i := range 16 {
		devs = append(devs, dev(fmt.Sprintf("d%02d", i), deepProber{}))
	}
	h := startWith(b, devs, Options{})
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		h.step(10 * time.Second)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*len(devs)), "ns/probe")
}
