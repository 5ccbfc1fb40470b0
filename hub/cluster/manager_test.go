package cluster

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// memLeases is Leases in memory, with the semantics of the PostgreSQL ones.
type memLeases struct {
	mu      sync.Mutex
	rows    map[int]*memRow
	members map[string]memMember
	fail    bool // every call fails, as with the database away
}

type memRow struct {
	holder  string
	epoch   int64
	expires time.Time
}

type memMember struct {
	m       Member
	expires time.Time
}

func newMemLeases() *memLeases {
	return &memLeases{rows: map[int]*memRow{}, members: map[string]memMember{}}
}

var errAway = errors.New("database away")

func (f *memLeases) Acquire(_ context.Context, p int, holder string, ttl time.Duration) (Lease, bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return Lease{}, false, errAway
	}
	now := time.Now()
	r := f.rows[p]
	if r == nil {
		r = &memRow{}
		f.rows[p] = r
	}
	if r.holder != "" && r.holder != holder && !r.expires.Before(now) {
		return Lease{}, false, nil
	}
	r.holder, r.epoch, r.expires = holder, r.epoch+1, now.Add(ttl)
	return Lease{Partition: p, Holder: holder, Epoch: r.epoch, Until: now.Add(ttl)}, true, nil
}

func (f *memLeases) Renew(_ context.Context, l Lease, ttl time.Duration) (Lease, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return l, errAway
	}
	r := f.rows[l.Partition]
	if r == nil || r.holder != l.Holder || r.epoch != l.Epoch {
		return l, ErrLost
	}
	r.expires = time.Now().Add(ttl)
	l.Until = r.expires
	return l, nil
}

func (f *memLeases) Release(_ context.Context, l Lease) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errAway
	}
	if r := f.rows[l.Partition]; r != nil && r.holder == l.Holder && r.epoch == l.Epoch {
		r.holder, r.expires = "", time.Now()
	}
	return nil
}

func (f *memLeases) Holders(context.Context) (map[int]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errAway
	}
	out := map[int]string{}
	for p, r := range f.rows {
		if r.holder != "" && !r.expires.Before(time.Now()) {
			out[p] = r.holder
		}
	}
	return out, nil
}

func (f *memLeases) Heartbeat(_ context.Context, m Member, ttl time.Duration) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return errAway
	}
	f.members[m.Replica] = memMember{m, time.Now().Add(ttl)}
	return nil
}

func (f *memLeases) Members(context.Context) ([]Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail {
		return nil, errAway
	}
	var out []Member
	for _, m := range f.members {
		if !m.expires.Before(time.Now()) {
			out = append(out, m.m)
		}
	}
	return out, nil
}

func (f *memLeases) Leave(_ context.Context, replica string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.members, replica)
	return nil
}

func (f *memLeases) setFail(b bool) {
	f.mu.Lock()
	f.fail = b
	f.mu.Unlock()
}

// fenced is a Runner whose "commits" check the lease as the store's do: it
// records, per partition, which replica ran it with which epoch, and
// fails the test if two runs of one partition overlap.
type fenced struct {
	t       *testing.T
	mu      sync.Mutex
	running map[int]string // partition: replica running it now
	runs    map[int][]Lease
	failing map[int]bool // Run fails at once
}

func newFenced(t *testing.T) *fenced {
	return &fenced{t: t, running: map[int]string{}, runs: map[int][]Lease{}, failing: map[int]bool{}}
}

func (f *fenced) Run(ctx context.Context, l Lease) error {
	f.mu.Lock()
	if other, ok := f.running[l.Partition]; ok {
		f.t.Errorf("partition %d runs on %s and %s at once", l.Partition, other, l.Holder)
	}
	f.running[l.Partition] = l.Holder
	f.runs[l.Partition] = append(f.runs[l.Partition], l)
	fail := f.failing[l.Partition]
	delete(f.failing, l.Partition)
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.running, l.Partition)
		f.mu.Unlock()
	}()
	if fail {
		return errors.New("partition failed")
	}
	<-ctx.Done()
	return nil
}

// holders says who runs each partition now.
func (f *fenced) holders() map[int]string {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := map[int]string{}
	for p, h := range f.running {
		out[p] = h
	}
	return out
}

func (f *fenced) runCount(p int) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.runs[p])
}

func testConfig(replica string) Config {
	return Config{Replica: replica, Partitions: 6, Lease: 400 * time.Millisecond, Renew: 50 * time.Millisecond}.WithDefaults()
}

// startManager runs a manager until the test ends (or stop is called).
func startManager(t *testing.T, cfg Config, l Leases, r Runner) (*Manager, context.CancelFunc) {
	m := NewManager(cfg, l, r, nil)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.Run(ctx)
	}()
	stop := func() { cancel(); <-done }
	t.Cleanup(stop)
	return m, func() { cancel(); <-done }
}

func count(h map[int]string, replica string, partitions int) int {
	n := 0
	for p, r := range h {
		if r == replica && p < partitions {
			n++
		}
	}
	return n
}

// Three replicas share six partitions two each, and the delivery lease is
// run once.
func TestShare(t *testing.T) {
	l, run := newMemLeases(), newFenced(t)
	for _, name := range []string{"a", "b", "c"} {
		startManager(t, testConfig(name), l, run)
	}
	testenv.WaitFor(t, 10*time.Second, "each replica running two partitions and the delivery running", func() bool {
		h := run.holders()
		return count(h, "a", 6) == 2 && count(h, "b", 6) == 2 && count(h, "c", 6) == 2 && h[6] != ""
	})
}

// A replica that dies (its leases not released) has its partitions taken
// over once the leases end, with a new epoch each, and never while it
// still ran them.
func TestTakeover(t *testing.T) {
	l, run := newMemLeases(), newFenced(t)
	a, _ := startManager(t, testConfig("a"), l, run)
	testenv.WaitFor(t, 10*time.Second, "a running everything", func() bool { return len(run.holders()) == 7 })
	before := a.Owned()
	a.Abandon() // as kill -9: nothing released, no more renewals
	startManager(t, testConfig("b"), l, run)
	testenv.WaitFor(t, 10*time.Second, "b running every partition a ran", func() bool {
		h := run.holders()
		return count(h, "b", 6) == 6 && h[6] == "b"
	})
	for _, lease := range before {
		run.mu.Lock()
		runs := run.runs[lease.Partition]
		run.mu.Unlock()
		for _, r := range runs[1:] {
			if r.Epoch <= lease.Epoch && r.Holder != "a" {
				t.Errorf("partition %d taken over with epoch %d, not above a's %d", lease.Partition, r.Epoch, lease.Epoch)
			}
		}
	}
}

// A replica that loses its lease (another took it) stops the partition at
// its next renewal, and one that cannot reach the database stops its
// partitions before their leases end.
func TestLostLease(t *testing.T) {
	t.Run("taken", func(t *testing.T) {
		l, run := newMemLeases(), newFenced(t)
		cfg := testConfig("a")
		cfg.Partitions = 1
		startManager(t, cfg, l, run)
		testenv.WaitFor(t, 10*time.Second, "a running partition 0", func() bool { return run.holders()[0] == "a" })
		// Another replica takes the row over behind a's back (as after a
		// pause longer than the lease).
		l.mu.Lock()
		l.rows[0].holder, l.rows[0].epoch = "b", l.rows[0].epoch+1
		l.rows[0].expires = time.Now().Add(time.Hour)
		l.mu.Unlock()
		testenv.WaitFor(t, 10*time.Second, "a stopping partition 0", func() bool { return run.holders()[0] == "" })
	})
	t.Run("database away", func(t *testing.T) {
		l, run := newMemLeases(), newFenced(t)
		startManager(t, testConfig("a"), l, run)
		testenv.WaitFor(t, 10*time.Second, "a running everything", func() bool { return len(run.holders()) == 7 })
		l.setFail(true)
		testenv.WaitFor(t, 10*time.Second, "a stopping every partition", func() bool { return len(run.holders()) == 0 })
		l.setFail(false)
		testenv.WaitFor(t, 10*time.Second, "a running everything again", func() bool { return len(run.holders()) == 7 })
	})
}

// A partition whose work fails is released and started again.
func TestRunFails(t *testing.T) {
	l, run := newMemLeases(), newFenced(t)
	run.failing[2] = true
	startManager(t, testConfig("a"), l, run)
	testenv.WaitFor(t, 10*time.Second, "partition 2 started again", func() bool { return run.runCount(2) >= 2 && run.holders()[2] == "a" })
}

// A replica that stops gracefully releases its partitions: the others
// take them at their next round, not after the lease.
func TestGracefulStopReleases(t *testing.T) {
	l, run := newMemLeases(), newFenced(t)
	cfg := testConfig("a")
	cfg.Lease = time.Hour // a takeover by expiry would not happen within the test
	cfg.Renew = 50 * time.Millisecond
	_, stopA := startManager(t, cfg, l, run)
	testenv.WaitFor(t, 10*time.Second, "a running everything", func() bool { return len(run.holders()) == 7 })
	cfgB := cfg
	cfgB.Replica = "b"
	startManager(t, cfgB, l, run)
	testenv.WaitFor(t, 10*time.Second, "b getting its share", func() bool { return count(run.holders(), "b", 6) == 3 })
	stopA()
	testenv.WaitFor(t, 10*time.Second, "b running everything", func() bool { return count(run.holders(), "b", 6) == 6 && run.holders()[6] == "b" })
}

func TestPartitionOf(t *testing.T) {
	seen := map[int]int{}
	for i := range 6000 {
		p := PartitionOf("acme", fmt.Sprintf("store-%d", i), 6)
		if p != PartitionOf("acme", fmt.Sprintf("store-%d", i), 6) {
			t.Fatal("not stable")
		}
		seen[p]++
	}
	for p := range 6 {
		if seen[p] < 800 || seen[p] > 1200 {
			t.Errorf("partition %d has %d of 6000 stores: the hash spreads badly (%v)", p, seen[p], seen)
		}
	}
}

func TestConfig(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  Config
		errs int
	}{
		{"defaults", Config{Replica: "a"}, 0},
		{"too many partitions", Config{Replica: "a", Partitions: 1000}, 1},
		{"short lease", Config{Replica: "a", Lease: time.Millisecond}, 1},
		{"renew too long", Config{Replica: "a", Lease: 10 * time.Second, Renew: 6 * time.Second}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.cfg
			if errs := c.Validate(); len(errs) != tc.errs {
				t.Errorf("%d mistakes, want %d: %v", len(errs), tc.errs, errs)
			}
		})
	}
	c := Config{Replica: "a"}.WithDefaults()
	if c.Partitions != DefaultPartitions || c.Lease != DefaultLease || c.Renew != DefaultLease/3 {
		t.Errorf("defaults: %+v", c)
	}
}
