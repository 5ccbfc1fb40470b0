package collector

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Device is one device as the collector sees it.
type Device struct {
	ID       string
	Kind     string
	Driver   string
	Resource string // what the probe locks (transport.Address.Resource)
	Interval time.Duration
	Timeout  time.Duration
	Debounce int
	// BusyLimit is how long the device may stay busy (held by the POS
	// application) before that is reported, once, as busy_too_long. Zero:
	// never.
	BusyLimit time.Duration
	Expected  *wire.Identity
	Prober    drivers.Prober
}

// Options tune the collector.
type Options struct {
	Grace          time.Duration // start-up grace period
	SampleInterval time.Duration // how often measurements are flushed to the sink
	Clock          clock.Clock   // nil: the wall clock
	Locks          *transport.Locks
	Logger         *slog.Logger
	// Jitter spreads the first probe of each device over [0, Jitter) and
	// varies later intervals by ±10%; zero disables it (tests).
	Jitter time.Duration
	// Batch runs the probes due within Batch of the earliest together with
	// it (see schedule), a device at most half its interval early and a
	// busy device never; zero runs each when it is due.
	Batch time.Duration
}

// State is a device's current condition, for status pages and the inventory.
type State struct {
	ID       string
	State    wire.HealthState
	Since    time.Time
	Faults   []wire.Fault
	Identity *wire.Identity
	LastPoll time.Time
	Detail   string
	// Measurements are the latest values the driver reported.
	Measurements map[string]float64
	// Holder is who has the device while it is busy, as far as known.
	Holder *wire.Holder
}

// Collector polls devices and reports their health.
type Collector struct {
	opts    Options
	sink    Sink
	log     *slog.Logger
	clk     clock.Clock
	locks   *transport.Locks
	devices []*device
	started time.Time

	smu     sync.Mutex
	samples map[string]wire.Sample // latest value per device+name until the next flush

	inflight atomic.Int32 // probes started by the schedule and not yet rescheduled
}

type device struct {
	Device
	mu       sync.Mutex
	tr       *tracker
	state    State
	identity *wire.Identity
	// busySince is when the current run of busy readings began; zero when
	// the last reading was not busy.
	busySince time.Time
}

// New builds a collector for devices, reporting to sink.
func New(devices []Device, sink Sink, opts Options) *Collector {
	c := &Collector{opts: opts, sink: sink, samples: map[string]wire.Sample{}}
	c.clk = opts.Clock
	if c.clk == nil {
		c.clk = clock.Real{}
	}
	c.locks = opts.Locks
	if c.locks == nil {
		c.locks = &transport.Locks{}
	}
	c.log = opts.Logger
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.opts.SampleInterval <= 0 {
		c.opts.SampleInterval = time.Minute
	}
	c.started = c.clk.Now()
	for _, d := range devices {
		c.devices = append(c.devices, &device{
			Device: d,
			tr:     newTracker(d.Debounce, c.started.Add(opts.Grace)),
			state:  State{ID: d.ID, State: wire.StateUnknown},
		})
	}
	return c
}

// Locks returns the port locks, shared with remote queries.
func (c *Collector) Locks() *transport.Locks { return c.locks }

// Run polls every device until ctx ends, then flushes pending samples.
func (c *Collector) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		c.flushLoop(ctx)
	}()
	c.schedule(ctx)
	wg.Wait()
	// A last flush with a short deadline of its own: ctx is already done.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer cancel()
	c.flush(fctx)
	return nil
}

// One goroutine schedules every device: a heap of when each is next due and
// a single timer for the earliest, instead of a goroutine and a timer per
// device. Probes run on a pool of workers, as many as have been needed at
// once (at most maxProbes), not one goroutine per device nor per probe. A
// probe's calls grow a stack to tens of kilobytes: fifty device loops kept
// fifty such stacks (issue 20's memory), and a goroutine per probe grew a
// fresh one every time (runtime.morestack was 7 % of the agent's CPU at 50
// devices). A worker keeps its stack from probe to probe, and the garbage
// collector halves it while the worker waits.
//
// With Options.Batch, the probes due within Batch of the earliest run with
// it, a little early: every wake-up of the process costs more than the
// probe's own work (the runtime's threads and monitor waking and going back
// to sleep; docs/benchmarks.md), and probes that run together share it. A
// device keeps its own rhythm: its next probe is due an interval after the
// previous one was due, not after it was run, so running early never makes
// it probed more often.

// maxProbes bounds the probes in flight; more due at once wait their turn.
const maxProbes = 16

type due struct {
	at    time.Time
	early time.Duration // how early it may run to join others
	d     *device
}

type dueHeap []due

func (h dueHeap) Len() int           { return len(h) }
func (h dueHeap) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h dueHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *dueHeap) Push(x any)        { *h = append(*h, x.(due)) }
func (h *dueHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// batch is how early d may run to join others: Options.Batch, at most
// half its interval.
func (c *Collector) batch(d *device) time.Duration {
	return min(c.opts.Batch, d.Interval/2)
}

// done is a finished probe.
type done struct {
	due  due // when it was due
	busy bool
}

func (c *Collector) schedule(ctx context.Context) {
	now := c.clk.Now()
	h := make(dueHeap, 0, len(c.devices))
	for _, d := range c.devices {
		first := time.Duration(0)
		if c.opts.Jitter > 0 {
			first = rand.N(min(c.opts.Jitter, d.Interval))
		}
		h = append(h, due{at: now.Add(first), early: c.batch(d), d: d})
	}
	heap.Init(&h)
	// finished has room for every device, so a worker never waits to
	// hand its result over.
	finished := make(chan done, len(c.devices))
	work := make(chan due)
	var pool sync.WaitGroup
	defer func() {
		close(work)
		pool.Wait()
	}()
	running, workers := 0, 0
	var rescheduled int32
	for {
		now = c.clk.Now()
		for h.Len() > 0 && running < maxProbes && !h[0].at.After(now.Add(h[0].early)) {
			next := heap.Pop(&h).(due)
			running++
			c.inflight.Add(1)
			// Every worker but running-1 is free or about to be (its
			// result is in finished): a new one only when none is.
			if workers < running {
				workers++
				pool.Go(func() {
					for d := range work {
						finished <- done{due: d, busy: c.poll(ctx, d.d)}
					}
				})
			}
			work <- next
		}
		var (
			t    clock.Timer
			tick <-chan time.Time
		)
		if h.Len() > 0 && running < maxProbes {
			t = c.clk.NewTimer(h[0].at.Sub(now))
			tick = t.C()
		}
		// Probes count as in flight until their next time is armed (tests
		// on a fake clock wait for that before moving it).
		c.inflight.Add(-rescheduled)
		rescheduled = 0
		select {
		case <-ctx.Done():
			if t != nil {
				t.Stop()
			}
			for ; running > 0; running-- {
				<-finished
			}
			return
		case f := <-finished:
			running--
			rescheduled++
			heap.Push(&h, c.next(f, c.clk.Now()))
		case <-tick:
		}
		if t != nil {
			t.Stop()
		}
	}
}

// next is when a device that was due at f.due.at and finished its probe at
// end is due again: an interval later, varied by ±10 % with Jitter. A probe
// that ran long (a device timing out) is followed by at least half the wait,
// not shortened by a batch.
// A busy device (a payment in progress must not be disturbed, but should not
// wait a whole interval either) is due half an interval after the probe
// ended, at least 2 s, and never early.
func (c *Collector) next(f done, end time.Time) due {
	d := f.due.d
	wait := d.Interval
	if f.busy {
		wait = max(d.Interval/2, 2*time.Second)
	}
	if c.opts.Jitter > 0 {
		wait += time.Duration((rand.Float64() - 0.5) * 0.2 * float64(wait))
	}
	if f.busy {
		return due{at: end.Add(wait), d: d}
	}
	at, early := f.due.at.Add(wait), c.batch(d)
	if soonest := end.Add(wait / 2); at.Before(soonest) {
		at, early = soonest, 0 // and not earlier: a device timing out is not probed back to back
	}
	return due{at: at, early: early, d: d}
}

// poll probes d once and records the outcome. It reports whether the device
// was busy.
func (c *Collector) poll(ctx context.Context, d *device) (busy bool) {
	o, err := c.probe(ctx, d)
	if errors.Is(err, drivers.ErrBusy) && ctx.Err() == nil {
		c.log.Debug("device busy", "device", d.ID, "reason", err)
		c.record(ctx, d, c.busyObservation(d, err))
		return true
	}
	if err != nil {
		// The probe never ran (shutting down, or the port stayed locked).
		if ctx.Err() == nil {
			c.log.Warn("poll skipped", "device", d.ID, "err", err)
		}
		return false
	}
	d.mu.Lock()
	d.busySince = time.Time{}
	d.mu.Unlock()
	c.record(ctx, d, o)
	return false
}

// busyObservation turns a busy probe into a reading: busy, with who holds
// the device, and no faults (none could be read). A device busy for longer
// than its limit reads as busy_too_long instead, which the tracker then
// reports once, like any other fault.
func (c *Collector) busyObservation(d *device, err error) observation {
	now := c.clk.Now()
	o := observation{at: now, busy: true, detail: err.Error()}
	if h, ok := transport.BusyHolder(err); ok && (h.Process != "" || h.PID > 0) {
		o.holder = &wire.Holder{Process: h.Process, PID: h.PID}
	}
	d.mu.Lock()
	if d.busySince.IsZero() {
		d.busySince = now
	}
	since := d.busySince
	d.mu.Unlock()
	if d.BusyLimit > 0 && now.Sub(since) >= d.BusyLimit {
		o.faults = []wire.Fault{wire.NewFault(wire.FaultBusyTooLong, fmt.Sprintf("%s since %s UTC, longer than the limit of %v",
			o.holder.String(), since.UTC().Format("2006-01-02 15:04:05"), d.BusyLimit))}
	}
	return o
}

// probe runs one probe under the port lock and the device timeout, and maps
// its result to faults. An error means no observation was made.
func (c *Collector) probe(ctx context.Context, d *device) (observation, error) {
	pctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	// Waiting for the port counts against the timeout: a port held by a
	// long remote query delays this poll rather than queueing polls.
	release, err := c.locks.Acquire(pctx, d.Resource)
	if err != nil {
		return observation{}, fmt.Errorf("port %s busy for the whole timeout: %w", d.Resource, err)
	}
	r, perr := d.Prober.Probe(pctx)
	release()
	now := c.clk.Now()
	if errors.Is(perr, drivers.ErrBusy) {
		return observation{}, perr
	}
	if ctx.Err() != nil {
		return observation{}, ctx.Err()
	}
	o := observation{at: now, detail: r.Detail, identity: r.Identity, measurements: r.Measurements}
	if perr != nil {
		o.faults = []wire.Fault{drivers.FaultFor(perr)}
		o.detail = perr.Error()
		o.identity, o.measurements = nil, nil
		return o, nil
	}
	o.faults = append(o.faults, r.Faults...)
	d.mu.Lock()
	if r.Identity != nil {
		d.identity = r.Identity
	}
	ident := d.identity
	d.mu.Unlock()
	// Drivers that read identity may raise unknown_device themselves; for
	// the others the collector compares the last identity it saw.
	if ident != nil && !hasFault(o.faults, wire.FaultUnknownDevice) {
		if f, bad := drivers.IdentityMismatch(d.Expected, *ident); bad {
			o.faults = append(o.faults, f)
		}
	}
	return o, nil
}

func (c *Collector) record(ctx context.Context, d *device, o observation) {
	d.mu.Lock()
	ch := d.tr.observe(o)
	d.state.LastPoll = o.at
	d.state.Detail = o.detail
	if len(o.measurements) > 0 {
		d.state.Measurements = o.measurements
	}
	if ch != nil {
		d.state.State, d.state.Since = ch.state, ch.since
	}
	d.state.Holder = nil
	if o.busy {
		d.state.Holder = o.holder
	}
	d.state.Faults = d.tr.faults
	d.state.Identity = d.identity
	ident := d.identity
	d.mu.Unlock()

	if len(o.measurements) > 0 {
		c.smu.Lock()
		for name, v := range o.measurements {
			c.samples[d.ID+"\x00"+name] = wire.Sample{Device: d.ID, Name: name, Value: v, Time: o.at.UTC()}
		}
		c.smu.Unlock()
	}
	if ch == nil {
		return
	}
	ev := wire.Event{
		Header:       wire.Header{Time: o.at.UTC()},
		Device:       d.ID,
		Kind:         d.Kind,
		State:        ch.state,
		Previous:     ch.previous,
		Faults:       ch.obs.faults,
		Since:        ch.since.UTC(),
		Reason:       ch.obs.detail,
		Identity:     ident,
		Measurements: ch.obs.measurements,
		Holder:       ch.obs.holder,
	}
	c.log.Info("device state", "device", d.ID, "state", ev.State, "previous", ev.Previous, "faults", faultCodes(ev.Faults), "reason", ev.Reason)
	if err := c.sink.Event(ctx, ev); err != nil {
		c.log.Error("event not recorded", "device", d.ID, "err", err)
	}
}

func hasFault(fs []wire.Fault, code wire.FaultCode) bool {
	for _, f := range fs {
		if f.Code == code {
			return true
		}
	}
	return false
}

func faultCodes(fs []wire.Fault) []string {
	out := make([]string, len(fs))
	for i, f := range fs {
		out[i] = string(f.Code)
	}
	return out
}

func (c *Collector) flushLoop(ctx context.Context) {
	for {
		t := c.clk.NewTimer(c.opts.SampleInterval)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C():
			c.flush(ctx)
		}
	}
}

func (c *Collector) flush(ctx context.Context) {
	c.smu.Lock()
	if len(c.samples) == 0 {
		c.smu.Unlock()
		return
	}
	batch := make([]wire.Sample, 0, len(c.samples))
	for _, s := range c.samples {
		batch = append(batch, s)
	}
	c.samples = map[string]wire.Sample{}
	c.smu.Unlock()
	sort.Slice(batch, func(i, j int) bool {
		if batch[i].Device != batch[j].Device {
			return batch[i].Device < batch[j].Device
		}
		return batch[i].Name < batch[j].Name
	})
	if err := c.sink.Samples(ctx, batch); err != nil {
		c.log.Error("samples not recorded", "count", len(batch), "err", err)
	}
}

// States returns every device's current condition, in configuration order.
func (c *Collector) States() []State {
	out := make([]State, len(c.devices))
	for i, d := range c.devices {
		d.mu.Lock()
		out[i] = d.state
		out[i].Faults = append([]wire.Fault(nil), d.state.Faults...)
		out[i].Measurements = maps.Clone(d.state.Measurements)
		d.mu.Unlock()
	}
	return out
}

// Result is the outcome of one probe made outside the schedule.
type Result struct {
	ID     string
	State  wire.HealthState
	Faults []wire.Fault
	Detail string
	Ident  *wire.Identity
	Busy   bool
	Holder *wire.Holder // who has it, when Busy and known
	Took   time.Duration
	// Measurements the driver reported with this reading.
	Measurements map[string]float64
}

// ProbeOnce probes one device now, without debounce and without reporting to
// the sink: for `storeagent devices` and remote queries. It shares the port
// lock with the scheduled polls.
func (c *Collector) ProbeOnce(ctx context.Context, id string) (Result, error) {
	d, err := c.device(id)
	if err != nil {
		return Result{}, err
	}
	start := c.clk.Now()
	o, err := c.probe(ctx, d)
	res := Result{ID: id, Took: c.clk.Now().Sub(start)}
	if errors.Is(err, drivers.ErrBusy) {
		res.Busy, res.State, res.Detail = true, wire.StateBusy, err.Error()
		if h, ok := transport.BusyHolder(err); ok && (h.Process != "" || h.PID > 0) {
			res.Holder = &wire.Holder{Process: h.Process, PID: h.PID}
		}
		return res, nil
	}
	if err != nil {
		return res, err
	}
	wire.SortFaults(o.faults)
	res.State, res.Faults, res.Detail, res.Ident, res.Measurements = o.state(), o.faults, o.detail, o.identity, o.measurements
	if res.Ident == nil {
		d.mu.Lock()
		res.Ident = d.identity
		d.mu.Unlock()
	}
	return res, nil
}

// ErrNotSupported says a device's driver cannot do what was asked.
var ErrNotSupported = errors.New("not supported by this device's driver")

func (c *Collector) device(id string) (*device, error) {
	for _, d := range c.devices {
		if d.ID == id {
			return d, nil
		}
	}
	return nil, fmt.Errorf("no device %q", id)
}

// Identify reads a device's identity now, holding its port, if its driver
// can; the identity is remembered for the inventory and events.
func (c *Collector) Identify(ctx context.Context, id string) (wire.Identity, error) {
	d, err := c.device(id)
	if err != nil {
		return wire.Identity{}, err
	}
	ider, ok := d.Prober.(drivers.Identifier)
	if !ok {
		return wire.Identity{}, ErrNotSupported
	}
	var ident wire.Identity
	err = c.WithPort(ctx, id, func(ctx context.Context) error {
		var err error
		ident, err = ider.Identify(ctx)
		return err
	})
	if err != nil {
		return wire.Identity{}, err
	}
	d.mu.Lock()
	d.identity = &ident
	d.state.Identity = &ident
	d.mu.Unlock()
	return ident, nil
}

// WithPort runs fn holding the device's port lock, under the device's
// timeout, so that it never interleaves with a poll.
func (c *Collector) WithPort(ctx context.Context, id string, fn func(ctx context.Context) error) error {
	d, err := c.device(id)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	release, err := c.locks.Acquire(pctx, d.Resource)
	if err != nil {
		return fmt.Errorf("port %s stayed busy for %v: %w", d.Resource, d.Timeout, err)
	}
	defer release()
	return fn(pctx)
}

// Timeout returns a device's probe timeout.
func (c *Collector) Timeout(id string) (time.Duration, bool) {
	d, err := c.device(id)
	if err != nil {
		return 0, false
	}
	return d.Timeout, true
}

// ProbeAll probes every device once, concurrently (devices sharing a port
// take turns), and returns the results in configuration order.
func (c *Collector) ProbeAll(ctx context.Context) []Result {
	out := make([]Result, len(c.devices))
	var wg sync.WaitGroup
	for i, d := range c.devices {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := c.ProbeOnce(ctx, d.ID)
			if err != nil {
				r = Result{ID: d.ID, State: wire.StateUnknown, Detail: err.Error()}
			}
			out[i] = r
		}()
	}
	wg.Wait()
	return out
}
