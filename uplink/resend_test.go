package uplink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/storewatch/storewatch/config"

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

// The client id keeps to letters, digits, '-' and '_' (nats-server 2.10
// and later refuse a '.'), says whose it is, and ids that read alike stay
// apart.
func TestClientID(t *testing.T) {
	a := ClientID(wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "pos.1"})
	b := ClientID(wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "pos-1"})
	if !strings.HasPrefix(a, "storeagent-acme_s0042_pos-1-") || a == b {
		t.Errorf("client ids %q and %q", a, b)
	}
	for _, r := range a {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			t.Errorf("%q holds %q", a, r)
		}
	}
}

// denySubscribe lets every client in and publish, and refuses every
// subscription (SUBACK 0x80), as a broker with an older ACL does.
type denySubscribe struct{ allowAll }

func (*denySubscribe) OnACLCheck(_ *mochi.Client, _ string, write bool) bool { return write }

// A subscription the broker refuses in its SUBACK is an error (paho says
// it only in the token's result), which the uplink tells apart from a lost
// connection: events still go out.
func TestRefusedSubscriptionIsReported(t *testing.T) {
	url := startMochiAt(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), new(denySubscribe))
	d := &pahoDialer{broker: config.Broker{URLs: []string{url}}, clientID: ClientID(testID), keepAlive: 5 * time.Second, timeout: 5 * time.Second}
	s, err := d.Dial(context.Background(), url, will{topic: testID.Topic(wire.ChannelStatus), payload: []byte("{}")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	err = s.Subscribe(context.Background(), testID.Topic(wire.ChannelCmdReq), func([]byte) {})
	if !errors.Is(err, errRefused) {
		t.Fatalf("subscription refused by the broker: %v, want errRefused", err)
	}
}

// refuseFirst refuses the agent's first subscriptions to one topic
// (SUBACK 0x80), as a nats-server cluster under load does when it cannot
// make the session's consumer in time, and takes the ones after.
type refuseFirst struct {
	allowAll
	topic  string
	refuse int
	mu     sync.Mutex
	asked  int // SUBSCRIBE packets of the agent for topic
}

func (h *refuseFirst) Provides(b byte) bool {
	return h.allowAll.Provides(b) || b == mochi.OnSubscribe
}

func (h *refuseFirst) OnSubscribe(cl *mochi.Client, pk packets.Packet) packets.Packet {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, f := range pk.Filters {
		if f.Filter == h.topic && strings.HasPrefix(cl.ID, "storeagent-") {
			h.asked++
		}
	}
	return pk
}

func (h *refuseFirst) OnACLCheck(cl *mochi.Client, topic string, write bool) bool {
	if write || topic != h.topic || !strings.HasPrefix(cl.ID, "storeagent-") {
		return true
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.asked > h.refuse
}

func (h *refuseFirst) subscriptions() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.asked
}

// An agent whose subscription to remote queries the broker refused asks
// again while the connection lasts, and hears the hub once it is taken:
// without that it would not answer queries or resend requests until it
// happened to reconnect.
func TestRefusedSubscriptionIsAskedForAgain(t *testing.T) {
	h := &refuseFirst{topic: testID.Topic(wire.ChannelCmdReq), refuse: 2}
	url := startMochiAt(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), h)
	hub := newHub(t, url)
	o := testOptions(t, url)
	o.ResubscribeMin, o.ResubscribeMax = 20*time.Millisecond, 40*time.Millisecond
	u := mustNew(t, o)
	u.SetCommandHandler(CommandHandlerFunc(func(context.Context, *wire.CommandRequest) *wire.CommandResponse {
		return &wire.CommandResponse{OK: true, Result: []byte(`{"state":"ok"}`)}
	}))
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "the subscription taken after two refusals", func() bool { return h.subscriptions() > 2 })
	req := wire.CommandRequest{Header: wire.Header{AgentID: testID, Time: time.Now()}, ID: "q1", Device: "receipt-lane3", Op: "status", Requester: "alice", Expires: time.Now().Add(time.Minute)}
	b, err := wire.Encode(&req)
	if err != nil {
		t.Fatal(err)
	}
	if tok := hub.c.Publish(testID.Topic(wire.ChannelCmdReq), 1, false, b); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	testenv.WaitFor(t, 10*time.Second, "the agent's answer", func() bool {
		for _, m := range hub.on_(wire.ChannelCmdRes) {
			if r := m.msg.(*wire.CommandResponse); r.ID == "q1" && r.OK {
				return true
			}
		}
		return false
	})
	if n := h.subscriptions(); n != 3 {
		t.Errorf("the agent subscribed %d times, want 3 (two refused, the third taken)", n)
	}
}
