package enrol

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Guessing tokens from one address stops after a few tries: once it has
// had DefaultRefusalsPerWindow refusals within the window, even a good
// token from there is refused with too_many and a time to wait; another
// address is not affected, and the window's end lifts the limit.
func TestRefusedEnrolmentsFromOneAddressAreLimited(t *testing.T) {
	f := newFixture(t)
	good := f.token(t, TokenRequest{Tenant: "acme", ExpiresIn: "72h"})
	guesser := "198.51.100.7"
	for i := range DefaultRefusalsPerWindow {
		_, err := f.svc.Enrol(&wire.EnrolRequest{V: 1, Token: fmt.Sprintf("swe_guess%02d", i), Store: "S0001", Agent: "main"},
			fmt.Sprintf("%s:%d", guesser, 40000+i))
		if code(err) != wire.EnrolUnknownToken {
			t.Fatalf("guess %d: %v, want unknown_token", i, err)
		}
	}
	_, err := f.svc.Enrol(&wire.EnrolRequest{V: 1, Token: good, Store: "S0001", Agent: "main"}, guesser+":41000")
	var r *Refusal
	if !errors.As(err, &r) || r.Code != wire.EnrolTooMany || r.Status != 429 || r.RetryAfter <= 0 || r.RetryAfter > DefaultRefusalWindow+time.Second {
		t.Fatalf("after %d refusals a good token got %v (%+v), want too_many with a wait within the window", DefaultRefusalsPerWindow, err, r)
	}
	if _, err := f.svc.Enrol(&wire.EnrolRequest{V: 1, Token: good, Store: "S0002", Agent: "main"}, "203.0.113.9:5000"); err != nil {
		t.Errorf("another address: %v", err)
	}
	f.clk.Advance(DefaultRefusalWindow)
	if _, err := f.svc.Enrol(&wire.EnrolRequest{V: 1, Token: good, Store: "S0001", Agent: "main"}, guesser+":41001"); err != nil {
		t.Errorf("after the window: %v", err)
	}
}

// The table of addresses stays bounded however many addresses try.
func TestRefusalLimitForgetsOldAddresses(t *testing.T) {
	l := newRefusalLimit(2, time.Minute)
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for i := range maxTracked + 100 {
		l.refused(fmt.Sprintf("10.%d.%d.%d:1", i>>16&255, i>>8&255, i&255), now.Add(time.Duration(i)*time.Millisecond))
	}
	if n := len(l.addrs); n > maxTracked {
		t.Errorf("%d addresses remembered, want at most %d", n, maxTracked)
	}
	for _, c := range []struct {
		remote string
		n      int
		want   bool
	}{
		{"192.0.2.1:1", 1, false},
		{"192.0.2.2:1", 2, true},
		{"[2001:db8::1]:443", 2, true},
		{"unix", 2, true},
	} {
		l := newRefusalLimit(2, time.Minute)
		for range c.n {
			l.refused(c.remote, now)
		}
		if got, _ := l.blocked(c.remote, now.Add(time.Second)); got != c.want {
			t.Errorf("%s after %d refusals: blocked %v, want %v", c.remote, c.n, got, c.want)
		}
	}
}
