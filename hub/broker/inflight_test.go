package broker

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// gatedHandler holds every message until the gate opens, and counts how many
// it holds at once; it refuses a payload "fail" once, as a pipeline that
// could not commit does.
type gatedHandler struct {
	gate chan struct{}

	mu             sync.Mutex
	now, most      int
	handled        []string
	refused        bool
	refuseFailOnce bool
}

func (h *gatedHandler) Handle(ctx context.Context, _ string, payload []byte, _ string) error {
	h.mu.Lock()
	h.now++
	h.most = max(h.most, h.now)
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		h.now--
		h.mu.Unlock()
	}()
	select {
	case <-h.gate:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if string(payload) == "fail" && h.refuseFailOnce && !h.refused {
		h.refused = true
		return errors.New("cannot commit")
	}
	h.handled = append(h.handled, string(payload))
	return nil
}

func (h *gatedHandler) state() (now, most int, handled []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now, h.most, append([]string(nil), h.handled...)
}

// subscribedSession starts the hub's session conf with handler h, working
// on at most bound messages at once, waits until Mosquitto m has its
// subscription, and connects an agent to publish to it.
func subscribedSession(t *testing.T, ctx context.Context, m *testenv.Mosquitto, conf ExternalConfig, h Handler, bound int) (*External, paho.Client) {
	t.Helper()
	x, err := startExternal(ctx, conf, Session{}, h, nil, bound)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	testenv.WaitFor(t, 10*time.Second, "the hub to subscribe", func() bool {
		return strings.Contains(m.Log(), "Received SUBSCRIBE from "+conf.ClientID)
	})
	agent, err := brokertest.Dial(t, m.URL, brokertest.Options{User: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	return x, agent
}

// TestExternalBoundsWorkInFlight: with a broker that sends without limit
// (Mosquitto's max_inflight_messages 0), the hub still works on at most its
// bound of messages at once and reads no further until they are committed;
// a message it could not commit is not acknowledged, so the broker delivers
// it again to the next session, and the acknowledged ones it does not.
func TestExternalBoundsWorkInFlight(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{Config: []string{"max_inflight_messages 0", "max_queued_messages 0"}})
	const bound, sent = 4, 30
	conf := ExternalConfig{URLs: []string{m.URL}, ClientID: "hub-bound"}
	h := &gatedHandler{gate: make(chan struct{}), refuseFailOnce: true}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	x, agent := subscribedSession(t, ctx, m, conf, h, bound)
	topic := s42.Topic(wire.ChannelEvents)
	for i := range sent {
		payload := fmt.Sprint(i)
		if i == sent/2 {
			payload = "fail"
		}
		if err := publish(agent, topic, payload); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 10*time.Second, "Mosquitto to send every message to the hub", func() bool {
		return strings.Count(m.Log(), "Sending PUBLISH to hub-bound") >= sent
	})
	testenv.WaitFor(t, 10*time.Second, "the hub to fill its bound", func() bool { now, _, _ := h.state(); return now >= bound })
	close(h.gate)
	testenv.WaitFor(t, 10*time.Second, "every message to be handled", func() bool { _, _, got := h.state(); return len(got) == sent-1 })
	if _, most, _ := h.state(); most != bound {
		t.Errorf("the hub worked on up to %d messages at once, want its bound %d", most, bound)
	}
	if err := x.Close(); err != nil {
		t.Fatal(err)
	}

	// The next session of the same client id gets the refused message again,
	// and only it: the others were acknowledged after their commit.
	again := &gatedHandler{gate: make(chan struct{})}
	close(again.gate)
	y, err := startExternal(ctx, conf, Session{}, again, nil, bound)
	if err != nil {
		t.Fatal(err)
	}
	defer y.Close()
	testenv.WaitFor(t, 10*time.Second, "the refused message to come again", func() bool { _, _, got := again.state(); return len(got) > 0 })
	if err := publish(agent, topic, "marker"); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "a new message after it", func() bool {
		_, _, got := again.state()
		return len(got) > 0 && got[len(got)-1] == "marker"
	})
	if _, _, got := again.state(); len(got) != 2 || got[0] != "fail" {
		t.Errorf("the next session got %q, want the refused message and the new one", got)
	}
}

// reverseHandler holds every message until all have come, then finishes
// them last first; it refuses the payload "fail" (a commit that failed).
type reverseHandler struct {
	want int

	mu      sync.Mutex
	waiting []chan struct{}
	all     chan struct{}
	handled int
}

func (h *reverseHandler) Handle(ctx context.Context, _ string, payload []byte, _ string) error {
	turn := make(chan struct{})
	h.mu.Lock()
	h.waiting = append(h.waiting, turn)
	if len(h.waiting) == h.want {
		close(h.all)
	}
	h.mu.Unlock()
	select {
	case <-turn:
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	h.handled++
	h.mu.Unlock()
	if string(payload) == "fail" {
		return errors.New("cannot commit")
	}
	return nil
}

// finishLastFirst lets the held messages finish one by one, the last to
// arrive first, each after the one before it has returned.
func (h *reverseHandler) finishLastFirst(t *testing.T) {
	<-h.all
	h.mu.Lock()
	turns := append([]chan struct{}(nil), h.waiting...)
	h.mu.Unlock()
	for i := len(turns) - 1; i >= 0; i-- {
		close(turns[i])
		testenv.WaitFor(t, 10*time.Second, "a message to finish", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return h.handled == len(turns)-i
		})
	}
}

// TestExternalAcknowledgesInArrivalOrder: messages whose work ends in
// another order than they came (a partition's session acknowledges the
// other partitions' messages at once and its own after their commit) are
// still acknowledged in the order they arrived, as MQTT 3.1.1 asks
// ([MQTT-4.6.0-2]) and Mosquitto's lookup of a PUBACK needs; one that
// could not be committed is skipped without holding back the others.
func TestExternalAcknowledgesInArrivalOrder(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	const sent = 12
	conf := ExternalConfig{URLs: []string{m.URL}, ClientID: "hub-order"}
	h := &reverseHandler{want: sent, all: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	_, agent := subscribedSession(t, ctx, m, conf, h, sent)
	for i := range sent {
		payload := fmt.Sprint(i)
		if i == 4 {
			payload = "fail"
		}
		if err := publish(agent, s42.Topic(wire.ChannelEvents), payload); err != nil {
			t.Fatal(err)
		}
	}
	h.finishLastFirst(t)
	testenv.WaitFor(t, 10*time.Second, "every message but the refused one to be acknowledged", func() bool {
		return strings.Count(m.Log(), "Received PUBACK from hub-order") == sent-1
	})
	sentMids := regexp.MustCompile(`Sending PUBLISH to hub-order \(d0, q1, r0, m(\d+),`).FindAllStringSubmatch(m.Log(), -1)
	ackedMids := regexp.MustCompile(`Received PUBACK from hub-order \(Mid: (\d+)`).FindAllStringSubmatch(m.Log(), -1)
	var want, got []string
	for i, s := range sentMids {
		if i != 4 { // the refused message
			want = append(want, s[1])
		}
	}
	for _, a := range ackedMids {
		got = append(got, a[1])
	}
	if !slices.Equal(got, want) {
		t.Errorf("PUBACKs for message ids %v, want them in the order the messages were sent: %v", got, want)
	}
}

// TestInOrderReleasesOnlyTheDoneHead: a message whose work is done waits
// for every message that arrived before it; a refused one (not ok) leaves
// with the others, marked not to be acknowledged. The taker here starts
// when done says so and takes until nothing is left, as both brokers' do.
func TestInOrderReleasesOnlyTheDoneHead(t *testing.T) {
	type finish struct {
		msg int
		ok  bool
	}
	for _, tc := range []struct {
		name   string
		arrive int
		finish []finish
		want   []string // after each finish: what the taker took ("m1", "m2-refused"); "" none started
	}{
		{"in order", 3, []finish{{0, true}, {1, true}, {2, true}}, []string{"m0", "m1", "m2"}},
		{"last first", 3, []finish{{2, true}, {1, true}, {0, true}}, []string{"", "", "m0 m1 m2"}},
		{"a gap", 4, []finish{{1, true}, {3, true}, {0, true}, {2, true}}, []string{"", "", "m0 m1", "m2 m3"}},
		{"refused", 3, []finish{{1, false}, {2, true}, {0, true}}, []string{"", "", "m0 m1-refused m2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var q inOrder[string]
			var rs []*received[string]
			for i := range tc.arrive {
				rs = append(rs, q.add(fmt.Sprintf("m%d", i)))
			}
			for i, f := range tc.finish {
				var names []string
				if q.done(rs[f.msg], f.ok) {
					for due := q.take(nil); len(due) > 0; due = q.take(nil) {
						for _, r := range due {
							name := r.m
							if !r.ok {
								name += "-refused"
							}
							names = append(names, name)
						}
					}
				}
				if got := strings.Join(names, " "); got != tc.want[i] {
					t.Errorf("after message %d finished: took %q, want %q", f.msg, got, tc.want[i])
				}
			}
		})
	}
}

// TestInOrderOneTakerAtATime: while a taker's turn is on, a message done
// starts no second taker (the first takes it); a take that finds nothing
// ends the turn, and the next message done starts a new one.
func TestInOrderOneTakerAtATime(t *testing.T) {
	var q inOrder[string]
	m0, m1 := q.add("m0"), q.add("m1")
	if !q.done(m0, true) {
		t.Fatal("the head done with no taker: done did not say to start taking")
	}
	if got := q.take(nil); len(got) != 1 || got[0] != m0 {
		t.Fatalf("took %v, want m0", got)
	}
	if q.done(m1, true) {
		t.Error("m1 done during a taker's turn: done said to start a second taker")
	}
	if got := q.take(nil); len(got) != 1 || got[0] != m1 {
		t.Fatalf("took %v, want m1", got)
	}
	if got := q.take(nil); len(got) != 0 {
		t.Fatalf("took %v from an empty queue", got)
	}
	m2 := q.add("m2")
	if !q.done(m2, true) {
		t.Error("m2 done after the turn ended: done did not say to start taking")
	}
}
