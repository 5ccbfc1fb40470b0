package broker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// orderHandler records messages and the end of the backlog in the order
// it is told of them.
type orderHandler struct {
	mu  sync.Mutex
	got []string
}

func (h *orderHandler) add(s string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.got = append(h.got, s)
}

func (h *orderHandler) Handle(_ context.Context, topic string, payload []byte, _ string) error {
	h.add(string(payload))
	return nil
}

func (h *orderHandler) HandleAsync(ctx context.Context, topic string, payload []byte, client string, done func(error)) {
	done(h.Handle(ctx, topic, payload, client))
}

func (h *orderHandler) Synced(_ context.Context, done func(error)) {
	h.add("synced")
	done(nil)
}

func (h *orderHandler) list() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.got)
}

// A partition's session comes back to a backlog: everything the broker kept
// while it was away reaches the handler before the end of the backlog does,
// once per connection whatever the number of filters, and the markers
// themselves never reach it as messages.
func TestSessionMarksTheEndOfItsBacklog(t *testing.T) {
	t.Run("mosquitto", func(t *testing.T) {
		m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
		backlogEnds(t, []string{m.URL})
		if n := strings.Count(m.Log(), "Received PUBLISH from hub-p3"); n != 4 {
			t.Errorf("the session published %d markers, want one per filter at each of its two connections", n)
		}
	})
	t.Run("nats", func(t *testing.T) {
		backlogEnds(t, testenv.StartNATS(t, 3).URLs())
	})
}

func backlogEnds(t *testing.T, urls []string) {
	conf := ExternalConfig{URLs: urls, ClientID: "hub"}
	sess := Session{ClientID: "hub-p3", Subscriptions: []string{wire.Filter("+", wire.ChannelStatus), wire.Filter("+", wire.ChannelEvents)}, Sync: true, Failover: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	first := &orderHandler{}
	x, err := StartSession(ctx, conf, sess, first, nil)
	if err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "a new session's (empty) backlog to end", func() bool { return len(first.list()) > 0 })
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}
	if got := first.list(); !slices.Equal(got, []string{"synced"}) {
		t.Fatalf("a new session got %q, want only the end of its backlog", got)
	}

	agent, err := brokertest.Dial(t, urls[0], brokertest.Options{User: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	const kept = 500
	var want []string
	for i := range kept {
		topic := s42.Topic(wire.ChannelEvents)
		if i%100 == 0 {
			topic = s42.Topic(wire.ChannelStatus)
		}
		want = append(want, fmt.Sprint(i))
		if err := publish(agent, topic, want[i]); err != nil {
			t.Fatal(err)
		}
	}
	// A marker of another session, and a stale one of this session's, are
	// nobody's business here.
	for _, topic := range []string{"storewatch/v1/~hub/sync/hub-p4/events", "storewatch/v1/~hub/sync/hub-p3/events"} {
		if err := publish(agent, topic, "0123456789abcdef"); err != nil {
			t.Fatal(err)
		}
	}

	again := &orderHandler{}
	y, err := StartSession(ctx, conf, sess, again, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	testenv.WaitFor(t, 20*time.Second, "the backlog's end", func() bool { return slices.Contains(again.list(), "synced") })
	// Filters may be queued apart (NATS), so only each filter's messages
	// keep their order; all of them come before the end.
	got := again.list()
	before := slices.Clone(got[:len(got)-1])
	slices.Sort(before)
	slices.Sort(want)
	if !slices.Equal(before, want) {
		t.Errorf("the session came back to %d messages before the end of its backlog, want the %d kept: %q", len(got)-1, kept, got)
	}
}

func TestSyncMarkerRounds(t *testing.T) {
	filters := []string{wire.Filter("+", wire.ChannelStatus), wire.Filter("+", wire.ChannelEvents), wire.Filter("+", wire.ChannelCmdRes)}
	if m := newSyncMarker("hub-p1", filters); m == nil || len(m.topics) != 2 {
		t.Fatalf("want a marker on each agents' channel (status, events), got %+v", m)
	}
	for _, c := range []struct {
		name    string
		id      string
		filters []string
	}{
		{"a client id that is no topic level", "hub/p1", filters},
		{"only answers subscribed", "hub-r1", []string{wire.Filter("+", wire.ChannelCmdRes)}},
	} {
		if m := newSyncMarker(c.id, c.filters); m != nil {
			t.Errorf("%s: got markers %q", c.name, m.topics)
		}
	}
	m := newSyncMarker("hub-p1", filters)
	m.rounds = map[string]map[string]bool{ // two rounds sent on this connection
		"n1": {m.topics[0]: true, m.topics[1]: true},
		"n2": {m.topics[0]: true, m.topics[1]: true},
	}
	steps := []struct {
		topic, payload string
		last           bool
	}{
		{m.topics[0], "n0", false}, // a round of an earlier connection
		{"storewatch/v1/~hub/sync/hub-p2/status", "n2", false},
		{m.topics[0], "n2", false},
		{m.topics[0], "n2", false}, // delivered again
		{m.topics[1], "n1", false},
		{m.topics[0], "n1", true},  // the first round complete: either will do
		{m.topics[1], "n2", false}, // the second: already synced
	}
	for i, s := range steps {
		if got := m.back(s.topic, []byte(s.payload)); got != s.last {
			t.Errorf("step %d (%s %s): last %v, want %v", i, s.topic, s.payload, got, s.last)
		}
	}
	if !isSync(m.topics[0]) || isSync(s42.Topic(wire.ChannelEvents)) {
		t.Error("isSync tells markers from agents' messages")
	}
	if _, _, err := wire.ParseTopic(m.topics[0]); err == nil {
		t.Error("a marker's topic parses as an agent's")
	}
}
