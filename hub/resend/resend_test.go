package resend

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

var s42 = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "bo"}

// fakes: the engine's gaps, an agent that answers, the pipeline.
type fixture struct {
	mu     sync.Mutex
	gaps   []incident.AgentGaps
	asked  []string // FormatSpans of each request
	answer wire.ResendResult
	err    error
	given  []string // FormatSpans of each GiveUp
	clk    *clock.Fake
	tr     *Tracker
}

func (f *fixture) Gaps() []incident.AgentGaps {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gaps
}

func (f *fixture) Resend(_ context.Context, _ wire.AgentID, spans []wire.SeqSpan) (wire.ResendResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.asked = append(f.asked, wire.FormatSpans(spans))
	return f.answer, f.err
}

func (f *fixture) GiveUp(_ context.Context, _ wire.AgentID, spans []wire.SeqSpan) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.given = append(f.given, wire.FormatSpans(spans))
	return nil
}

func newFixture(missing ...incident.SeqRange) *fixture {
	f := &fixture{clk: clock.NewFake(time.Date(2026, 12, 7, 3, 0, 0, 0, time.UTC))}
	f.gaps = []incident.AgentGaps{{Agent: s42, Online: true, Missing: missing}}
	f.tr = New(Options{Source: f, Asker: f, Recorder: f, Clock: f.clk, After: 15 * time.Second, Retry: 30 * time.Second, MaxRetry: time.Minute})
	return f
}

// scan runs one round at now+d and waits for the requests it started.
func (f *fixture) scan(d time.Duration) {
	f.clk.Advance(d)
	f.tr.Scan(context.Background())
	f.tr.wg.Wait()
}

func (f *fixture) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.asked...)
}

func TestAGapIsAskedForOnceItStaysOpenThenLessOften(t *testing.T) {
	f := newFixture(incident.SeqRange{From: 7, To: 9}, incident.SeqRange{From: 12, To: 12})
	f.answer = wire.ResendResult{Resent: 4}
	steps := []struct {
		after time.Duration
		asked int
	}{
		{0, 0},                // just seen: the broker may still bring it
		{14 * time.Second, 0}, //
		{time.Second, 1},      // open 15 s: asked
		{29 * time.Second, 1}, // retry after 30 s
		{time.Second, 2},      //
		{59 * time.Second, 2}, // then after 60 s (doubled, the most)
		{time.Second, 3},      //
		{time.Minute, 4},      // MaxRetry
	}
	for i, s := range steps {
		f.scan(s.after)
		if got := len(f.requests()); got != s.asked {
			t.Fatalf("step %d: %d requests, want %d", i, got, s.asked)
		}
	}
	if r := f.requests()[0]; r != "7-9,12" {
		t.Errorf("asked for %q, want 7-9,12", r)
	}
	// The gap closes: the tracker forgets it, and a new one waits again.
	f.gaps = nil
	f.scan(time.Second)
	f.gaps = []incident.AgentGaps{{Agent: s42, Online: true, Missing: []incident.SeqRange{{From: 20, To: 20}}}}
	f.scan(time.Minute)
	f.scan(14 * time.Second)
	if got := len(f.requests()); got != 4 {
		t.Fatalf("a new gap was asked for before it had been open 15 s: %d requests", got)
	}
	f.scan(time.Second)
	if got := f.requests(); len(got) != 5 || got[4] != "20" {
		t.Fatalf("requests %v, want the new gap asked for", got)
	}
}

func TestAnAgentAwayIsNotAsked(t *testing.T) {
	f := newFixture(incident.SeqRange{From: 7, To: 7})
	f.gaps[0].Online = false
	f.scan(0)
	f.scan(time.Hour)
	if got := f.requests(); len(got) != 0 {
		t.Fatalf("an offline agent was asked: %v", got)
	}
	f.gaps[0].Online = true
	f.scan(time.Second)
	if got := f.requests(); len(got) != 1 {
		t.Fatalf("back online: %v requests, want 1", got)
	}
}

// What the agent no longer has is given up, but only numbers the hub asked
// for; a failed request gives up nothing unless the agent said so.
func TestGoneNumbersAreGivenUp(t *testing.T) {
	f := newFixture(incident.SeqRange{From: 7, To: 9})
	f.answer = wire.ResendResult{Resent: 1, Gone: "1-8,100"}
	f.scan(0)
	f.scan(15 * time.Second)
	if len(f.given) != 1 || f.given[0] != "7-8" {
		t.Fatalf("given up %v, want [7-8]", f.given)
	}
	f.answer, f.err = wire.ResendResult{}, errors.New("no_answer: the agent did not answer in 10s")
	f.scan(time.Minute)
	if len(f.requests()) != 2 || len(f.given) != 1 {
		t.Fatalf("after a failed request: %d requests, given up %v", len(f.requests()), f.given)
	}
}

func TestBoundedRequests(t *testing.T) {
	var missing []incident.SeqRange
	for i := range uint64(100) {
		missing = append(missing, incident.SeqRange{From: 10 * (i + 1), To: 10*(i+1) + 1})
	}
	if got := Bounded(missing); len(got) != wire.MaxResendSpans || got[0].From != 10 {
		t.Errorf("100 ranges: %d asked (from %d), want the oldest %d", len(got), got[0].From, wire.MaxResendSpans)
	}
	got := Bounded([]incident.SeqRange{{From: 1, To: 4000}, {From: 5000, To: 5200}, {From: 6000, To: 6000}})
	if s := wire.FormatSpans(got); s != "1-4000,5000-5095" {
		t.Errorf("bounded to %q", s)
	}
	if _, err := wire.ParseSpans(wire.FormatSpans(got)); err != nil {
		t.Errorf("a bounded request does not parse: %v", err)
	}
}
