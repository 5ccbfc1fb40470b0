package hub

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/ingest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// fakeLink is a broker session whose connection the test drops and
// restores, signalling each change as broker.External does. set returns
// once followBroker has read the new state, so that no change is merged
// into the next (broker.External's signal may merge two; what is
// followed then is the later state).
type fakeLink struct {
	changed chan struct{} // unbuffered: set waits for the reader
	read    chan struct{}
	up      atomic.Bool
}

func (f *fakeLink) Changed() <-chan struct{} { return f.changed }

func (f *fakeLink) Connected() bool {
	v := f.up.Load()
	select {
	case f.read <- struct{}{}:
	default:
	}
	return v
}

func (f *fakeLink) set(up bool) {
	f.up.Store(up)
	f.changed <- struct{}{}
	<-f.read
}

// outageLog keeps the hub outage's event-log entries the pipeline commits.
type outageLog struct {
	mu      sync.Mutex
	entries []incident.LogEntry
}

func (o *outageLog) Commit(c incident.Changes) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	for _, l := range c.Log {
		if l.Kind == incident.LogOutage {
			o.entries = append(o.entries, l)
		}
	}
	return nil
}

func (o *outageLog) states() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []string
	for _, l := range o.entries {
		out = append(out, l.State)
	}
	return out
}

func (o *outageLog) first() incident.LogEntry {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.entries[0]
}

// follow runs followBroker with grace over a fake session that starts
// connected, and returns the session and what the engine logged.
func follow(t *testing.T, grace time.Duration) (*fakeLink, *outageLog) {
	t.Helper()
	link, log := &fakeLink{changed: make(chan struct{}), read: make(chan struct{}, 1)}, &outageLog{}
	pipe := ingest.New(ingest.Options{Engine: incident.New(incident.Config{Policy: incident.DefaultPolicy()}), Store: log})
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); _ = pipe.Run(ctx) }()
	go func() { defer wg.Done(); followBroker(ctx, link, pipe, grace, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); wg.Wait() })
	link.set(true)
	return link, log
}

// A partition's session that drops and is back within the grace (it moved
// to another node of the broker cluster, which kept its messages) is no
// outage: the engine holds nothing back. One that stays away longer is
// the hub's outage from the moment it dropped, and its return is told.
func TestBrokerSessionGrace(t *testing.T) {
	t.Run("back within the grace", func(t *testing.T) {
		link, log := follow(t, time.Second)
		for range 3 {
			link.set(false)
			link.set(true)
		}
		time.Sleep(2 * time.Second) // past the grace
		if s := log.states(); len(s) != 0 {
			t.Errorf("the engine was told %v, want nothing", s)
		}
	})
	t.Run("away longer than the grace", func(t *testing.T) {
		link, log := follow(t, 100*time.Millisecond)
		lost := time.Now()
		link.set(false)
		testenv.WaitFor(t, 10*time.Second, "the outage told after the grace", func() bool { return len(log.states()) == 1 })
		if at := log.first().At; at.Before(lost) || at.After(lost.Add(100*time.Millisecond)) {
			t.Errorf("the outage began at %v, want when the session dropped (%v), not when the grace ended", at, lost)
		}
		link.set(true)
		testenv.WaitFor(t, 10*time.Second, "the return told", func() bool { return len(log.states()) == 2 })
		if s := log.states(); !slices.Equal(s, []string{"blind", "heard"}) {
			t.Errorf("the engine was told %v, want blind then heard", s)
		}
	})
	t.Run("no grace", func(t *testing.T) {
		link, log := follow(t, 0)
		link.set(false)
		testenv.WaitFor(t, 10*time.Second, "the outage told at once", func() bool { return len(log.states()) == 1 })
		link.set(true)
		testenv.WaitFor(t, 10*time.Second, "the return told", func() bool { return len(log.states()) == 2 })
	})
}
