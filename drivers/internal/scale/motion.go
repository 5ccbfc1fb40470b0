package scale

import (
	"fmt"
	"sync"
	"time"

	"github.com/storewatch/storewatch/drivers"
)

// Defaults for when motion becomes a fault. A customer putting goods on the
// platter makes the weight move for seconds; a scale that is still moving a
// minute and several probes later has something touching the platter, a
// draught, or a failing load cell.
const (
	DefaultUnstableProbes = 3
	DefaultUnstableAfter  = time.Minute
)

// Motion decides when a moving weight is worth a fault. A single dynamic
// reading is normal operation and must never become one, so Motion keeps the
// run of consecutive dynamic probes as driver state across probes and
// reports persistence only once the run is both Probes long and After old.
// Any reading that is not dynamic (a stable weight, an overload, a failed
// probe) ends the run.
//
// Both conditions are needed because the poll interval is the user's: three
// probes are three minutes at one poll a minute, but three seconds at one a
// second.
type Motion struct {
	Probes int           // consecutive dynamic probes needed, at least 1
	After  time.Duration // time since the first of them, 0 for no minimum
	Now    func() time.Time

	mu    sync.Mutex
	count int
	since time.Time
}

// MotionOptions are the options NewMotion reads, for the scale drivers'
// Info.
var MotionOptions = []drivers.Option{
	{Name: "unstable_probes", Type: drivers.OptionInt, Default: "3", Doc: "consecutive moving readings before scale_unstable (at least 1)"},
	{Name: "unstable_after", Type: drivers.OptionDuration, Default: "1m", Doc: "and at least this long since the first of them"},
}

// NewMotion reads the options unstable_probes and unstable_after.
func NewMotion(o *drivers.Options) *Motion {
	m := &Motion{
		Probes: o.Int("unstable_probes", DefaultUnstableProbes),
		After:  o.Duration("unstable_after", DefaultUnstableAfter),
		Now:    time.Now,
	}
	if m.Probes < 1 {
		o.Fail("option unstable_probes: %d must be at least 1 (one dynamic reading alone is never a fault)", m.Probes)
		m.Probes = DefaultUnstableProbes
	}
	if m.After < 0 {
		o.Fail("option unstable_after: %s must not be negative", m.After)
		m.After = DefaultUnstableAfter
	}
	return m
}

// Observe records whether this probe saw the weight moving and returns the
// run so far.
func (m *Motion) Observe(dynamic bool) Run {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !dynamic {
		m.count = 0
		return Run{}
	}
	now := m.now()
	if m.count == 0 {
		m.since = now
	}
	m.count++
	r := Run{Probes: m.count, For: now.Sub(m.since)}
	r.Persistent = r.Probes >= m.Probes && r.For >= m.After
	return r
}

// Reset ends the run, for a probe that got no usable answer: nobody knows
// whether the weight moved meanwhile.
func (m *Motion) Reset() { m.Observe(false) }

func (m *Motion) now() time.Time {
	if m.Now == nil {
		return time.Now()
	}
	return m.Now()
}

// Threshold says in words when motion becomes a fault.
func (m *Motion) Threshold() string {
	if m.After == 0 {
		return fmt.Sprintf("%d probes", m.Probes)
	}
	return fmt.Sprintf("%d probes and %s", m.Probes, m.After)
}

// Run is a stretch of consecutive dynamic probes.
type Run struct {
	Probes     int
	For        time.Duration
	Persistent bool
}
