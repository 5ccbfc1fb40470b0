package bench

import (
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/wire"
)

// Watcher subscribes to every storewatch topic on a broker and keeps each
// device's latest reported state, to see that an agent really does its work.
type Watcher struct {
	c mqtt.Client

	mu      sync.Mutex
	states  map[string]wire.HealthState // device id → latest state
	events  int
	invalid []string
}

// Watch connects to url and subscribes.
func Watch(url string) (*Watcher, error) {
	w := &Watcher{states: map[string]wire.HealthState{}}
	opts := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("bench-watch-%d", time.Now().UnixNano()))
	w.c = mqtt.NewClient(opts)
	if tok := w.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return nil, fmt.Errorf("watch %s: connect: %v", url, tok.Error())
	}
	tok := w.c.Subscribe(wire.TopicRoot+"/#", 1, func(_ mqtt.Client, m mqtt.Message) {
		_, ch, err := wire.ParseTopic(m.Topic())
		if err != nil || ch != wire.ChannelEvents {
			return
		}
		msg, err := wire.DecodeChannel(ch, m.Payload())
		w.mu.Lock()
		defer w.mu.Unlock()
		if err != nil {
			w.invalid = append(w.invalid, err.Error())
			return
		}
		ev := msg.(*wire.Event)
		w.states[ev.Device] = ev.State
		w.events++
	})
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		w.c.Disconnect(0)
		return nil, fmt.Errorf("watch %s: subscribe: %v", url, tok.Error())
	}
	return w, nil
}

// States returns each device's latest state.
func (w *Watcher) States() map[string]wire.HealthState {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]wire.HealthState, len(w.states))
	for k, v := range w.states {
		out[k] = v
	}
	return out
}

// Reset forgets what was seen.
func (w *Watcher) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.states, w.events, w.invalid = map[string]wire.HealthState{}, 0, nil
}

// Invalid returns decoding errors of published events.
func (w *Watcher) Invalid() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.invalid...)
}

// Close disconnects.
func (w *Watcher) Close() { w.c.Disconnect(100) }
