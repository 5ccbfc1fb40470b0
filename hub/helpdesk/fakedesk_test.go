package helpdesk_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/hub/tickets"
)

// fakeDesk is a helpdesk in memory: it records every call per ticket and
// can be told to fail.
type fakeDesk struct {
	mu       sync.Mutex
	tickets  map[string]string          // external id → ticket id
	calls    map[string][]helpdesk.Call // ticket id → calls, in order received
	state    map[string]helpdesk.State
	failNext map[string]int // external id → failures to return before succeeding
	fail     error          // returned by every call while set
	opened   int
}

func newFakeDesk() *fakeDesk {
	return &fakeDesk{tickets: map[string]string{}, calls: map[string][]helpdesk.Call{}, state: map[string]helpdesk.State{}, failNext: map[string]int{}}
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

func (f *fakeDesk) Open(_ context.Context, c helpdesk.Call) (helpdesk.Ticket, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(c.ExternalID); err != nil {
		return helpdesk.Ticket{}, err
	}
	id, ok := f.tickets[c.ExternalID]
	if !ok {
		f.opened++
		id = fmt.Sprint(f.opened)
		f.tickets[c.ExternalID] = id
		f.state[id] = helpdesk.StateOpen
	}
	f.calls[id] = append(f.calls[id], c)
	return helpdesk.Ticket{ID: id}, nil
}

func (f *fakeDesk) Post(_ context.Context, t helpdesk.Ticket, c helpdesk.Call) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if err := f.check(c.ExternalID); err != nil {
		return err
	}
	f.calls[t.ID] = append(f.calls[t.ID], c)
	switch c.Status {
	case helpdesk.StatusResolved:
		f.state[t.ID] = helpdesk.StateResolved
	case helpdesk.StatusClosed:
		f.state[t.ID] = helpdesk.StateClosed
	}
	return nil
}

func (f *fakeDesk) State(_ context.Context, t helpdesk.Ticket) (helpdesk.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.state[t.ID], f.fail
}

func (f *fakeDesk) kinds(ext string) []tickets.Occasion {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []tickets.Occasion
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

// openOutbox opens cfg's outbox with desk as the helpdesk named "desk".
func openOutbox(t testing.TB, cfg helpdesk.Config, desk helpdesk.Connector, fb helpdesk.Feedback) *helpdesk.Outbox {
	t.Helper()
	return helpdesktest.Open(t, cfg, helpdesk.Options{Connectors: map[string]helpdesk.Connector{"desk": desk}, Feedback: fb})
}
