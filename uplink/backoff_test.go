package uplink

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"
)

// The reconnect wait doubles from the minimum up to ReconnectCap and never
// beyond, however long the outage; each wait lies between half and all of
// its step.
func TestReconnectBackoffIsCapped(t *testing.T) {
	var o Options
	o.defaults()
	if o.ReconnectMin != time.Second || o.ReconnectMax != ReconnectCap {
		t.Fatalf("defaults: %v .. %v, want 1s .. %v", o.ReconnectMin, o.ReconnectMax, ReconnectCap)
	}
	least := func() float64 { return 0 }
	most := func() float64 { return math.Nextafter(1, 0) }
	cases := []struct {
		failures   int
		from, upTo time.Duration
	}{
		{1, 500 * time.Millisecond, time.Second},
		{2, time.Second, 2 * time.Second},
		{3, 2 * time.Second, 4 * time.Second},
		{5, 8 * time.Second, 16 * time.Second},
		{6, 15 * time.Second, 30 * time.Second}, // 32 s, capped
		{7, 15 * time.Second, 30 * time.Second},
		{100, 15 * time.Second, 30 * time.Second},
		{5000, 15 * time.Second, 30 * time.Second}, // 2^4999 is +Inf as a float
	}
	for _, c := range cases {
		lo, hi := backoff(o.ReconnectMin, o.ReconnectMax, c.failures, least), backoff(o.ReconnectMin, o.ReconnectMax, c.failures, most)
		if lo != c.from || hi > c.upTo || hi < c.upTo-time.Millisecond {
			t.Errorf("after %d failures: waits %v .. %v, want %v .. %v", c.failures, lo, hi, c.from, c.upTo)
		}
	}
}

// After an outage every agent of a chain waits at the cap; the jitter
// spreads their reconnects over its second half instead of one second.
// The random source is seeded: the test gives the same draws every run.
func TestReconnectBackoffSpreadsAChain(t *testing.T) {
	const agents = 10000
	r := rand.New(rand.NewPCG(17, 2026))
	perSecond := map[int]int{}
	for range agents {
		d := backoff(time.Second, ReconnectCap, 30, r.Float64)
		if d < ReconnectCap/2 || d > ReconnectCap {
			t.Fatalf("wait %v outside %v .. %v", d, ReconnectCap/2, ReconnectCap)
		}
		perSecond[int(d/time.Second)]++
	}
	// Uniform over 15 seconds is about 667 reconnects a second.
	if len(perSecond) != 15 {
		t.Errorf("reconnects fall into %d different seconds, want all 15 from 15 s to 29 s: %v", len(perSecond), perSecond)
	}
	for s, n := range perSecond {
		if n > agents/10 {
			t.Errorf("%d of %d agents reconnect in second %d: %v", n, agents, s, perSecond)
		}
	}
}

// docs/protocol.md states the cap the code has.
func TestProtocolDocStatesTheReconnectCap(t *testing.T) {
	doc, err := os.ReadFile("../docs/protocol.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("up to **%d s**", int(ReconnectCap.Seconds()))
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/protocol.md does not say the reconnect wait grows %q", want)
	}
}
