package agenttest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Observer subscribes to every storewatch topic on a broker and keeps what
// arrives, as the hub would see it. Its session outlives a broker restart
// (a persistent session, resubscribed on every connection), so messages
// the agent sends while the observer is away still arrive.
type Observer struct {
	mu   sync.Mutex
	msgs []wire.Message
	// C is the observer's MQTT client, to publish requests to the agent.
	C mqtt.Client
}

// Observe connects an observer to the broker at url; it disconnects when
// the test ends. An invalid message from the agent fails the test.
func Observe(t testing.TB, url string) *Observer {
	t.Helper()
	o := &Observer{}
	handle := func(_ mqtt.Client, m mqtt.Message) {
		_, ch, err := wire.ParseTopic(m.Topic())
		if err != nil {
			return
		}
		msg, err := wire.DecodeChannel(ch, m.Payload())
		if err != nil {
			t.Errorf("agent published an invalid %s message: %v\n%s", ch, err, m.Payload())
			return
		}
		o.mu.Lock()
		o.msgs = append(o.msgs, msg)
		o.mu.Unlock()
	}
	subscribed := make(chan error, 1)
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("observer-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetOnConnectHandler(func(c mqtt.Client) {
			tok := c.Subscribe(wire.TopicRoot+"/#", 1, handle)
			tok.WaitTimeout(10 * time.Second)
			select {
			case subscribed <- tok.Error():
			default:
			}
		})
	o.C = mqtt.NewClient(opts)
	if tok := o.C.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("observer connect: %v", tok.Error())
	}
	t.Cleanup(func() { o.C.Disconnect(100) })
	select {
	case err := <-subscribed:
		if err != nil {
			t.Fatalf("subscribe: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("subscribe: no answer")
	}
	return o
}

// Find returns the messages satisfying match, in the order they arrived.
func (o *Observer) Find(match func(wire.Message) bool) []wire.Message {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []wire.Message
	for _, m := range o.msgs {
		if match(m) {
			out = append(out, m)
		}
	}
	return out
}

// WaitFor waits (at most 30 s) for a message satisfying match and returns
// the last such message.
func (o *Observer) WaitFor(t testing.TB, what string, match func(wire.Message) bool) wire.Message {
	t.Helper()
	var got []wire.Message
	testenv.WaitFor(t, 30*time.Second, what, func() bool { got = o.Find(match); return len(got) > 0 })
	return got[len(got)-1]
}

// EventOf matches a device's state change to state.
func EventOf(device string, state wire.HealthState) func(wire.Message) bool {
	return func(m wire.Message) bool {
		ev, ok := m.(*wire.Event)
		return ok && ev.Device == device && ev.State == state
	}
}

// StatusIs matches an agent's online or offline status.
func StatusIs(state string) func(wire.Message) bool {
	return func(m wire.Message) bool { s, ok := m.(*wire.Status); return ok && s.State == state }
}
