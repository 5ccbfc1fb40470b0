package uplink

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// A broker that lost messages it had acknowledged leaves the hub a gap; the
// hub asks, and the agent publishes again, byte for byte, the events it
// keeps after their PUBACK (the newest keep_sent), says which numbers still
// wait in its outbox, and which it no longer has.
func TestResendPublishesKeptEventsAgain(t *testing.T) {
	url := startMochi(t)
	hub := newHub(t, url)
	o := testOptions(t, url)
	o.Outbox.KeepSent = 4
	u := mustNew(t, o)
	ctx := context.Background()
	for i := range 6 {
		ev := testEvent(i)
		if err := u.Event(ctx, ev); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := u.Resend(ctx, []wire.SeqSpan{{From: 1, To: 1}}); !errors.Is(err, ErrNotConnected) && err != nil {
		t.Fatalf("before the first connection: %v", err)
	}
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "6 events at the hub", func() bool { return len(hub.events()) == 6 })
	testenv.WaitFor(t, 10*time.Second, "the acknowledged events kept", func() bool { return u.Stats().Outbox.Sent == 4 })
	first := hub.on_(wire.ChannelEvents)
	seq := func(i int) uint64 { return first[i].msg.Head().Seq }
	// The birth said where the connection's numbers begin: the oldest
	// event waiting.
	if b := hub.lastStatus(); b == nil || b.State != wire.PresenceOnline || b.Next != seq(0) {
		t.Fatalf("birth %+v, want next %d", b, seq(0))
	}
	// Events 0 and 1 are past what the agent keeps; 2..5 are kept; a
	// thousand numbers on is one the agent never gave out.
	res, err := u.Resend(ctx, []wire.SeqSpan{{From: seq(0), To: seq(3)}, {From: seq(5), To: seq(5)}, {From: seq(5) + 1000, To: seq(5) + 1000}})
	if err != nil {
		t.Fatal(err)
	}
	want := wire.ResendResult{Resent: 3, Pending: 0, Gone: wire.FormatSpans([]wire.SeqSpan{{From: seq(0), To: seq(1)}, {From: seq(5) + 1000, To: seq(5) + 1000}})}
	if res != want {
		t.Fatalf("resend answered %+v, want %+v", res, want)
	}
	testenv.WaitFor(t, 10*time.Second, "3 events again", func() bool { return len(hub.events()) == 9 })
	again := hub.on_(wire.ChannelEvents)[6:]
	for i, j := range []int{2, 3, 5} {
		if !bytes.Equal(again[i].payload, first[j].payload) {
			t.Errorf("event %d published again as\n%s\nfirst\n%s", j, again[i].payload, first[j].payload)
		}
	}
}

// Events still waiting in the outbox are pending, not resent: they go out
// the usual way. keep_sent 0 keeps nothing once delivered.
func TestResendCountsWaitingEventsAsPending(t *testing.T) {
	o := testOptions(t, "tcp://127.0.0.1:1") // never connects
	u := mustNew(t, o)
	ctx := context.Background()
	ev := testEvent(0)
	if err := u.Event(ctx, ev); err != nil {
		t.Fatal(err)
	}
	last := u.Stats().Outbox.LastSeq
	res, err := u.Resend(ctx, []wire.SeqSpan{{From: last - 1, To: last}})
	if err != nil {
		t.Fatal(err)
	}
	if want := (wire.ResendResult{Pending: 1, Gone: wire.FormatSpans([]wire.SeqSpan{{From: last - 1, To: last - 1}})}); res != want {
		t.Fatalf("resend answered %+v, want %+v", res, want)
	}
}
