package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/wire"
)

// The end of a session's backlog. A persistent session that connects again
// (a partition taken over from a replica that died) is first handed what
// the broker kept for it, and the hub must not decide about its stores
// before it has read that: a fault's recovery may be queued behind it. MQTT
// does not say where a backlog ends, so the session marks it: once
// subscribed, it publishes a marker with a fresh nonce to a topic of its own
// that each of its filters matches. A broker queues a session's messages in
// order, so the marker comes back behind everything queued before it; with
// one marker per filter this holds for brokers that keep one queue per
// subscription too (NATS keeps a JetStream consumer per filter). When the
// last marker of the round is back, the handler is told, in order with the
// messages (Syncer).

// syncTenant is the tenant level of the markers' topics: not a valid tenant
// (wire.ValidateSegment), so no agent's topic is ever one, while the filters
// "storewatch/v1/+/+/+/<channel>" match it.
const syncTenant = "~hub"

// SyncFilter is what the hub's broker user must be allowed to write (and
// read, which storewatch/v1/# gives) for the markers.
const SyncFilter = wire.TopicRoot + "/" + syncTenant + "/#"

// Syncer is a handler that wants to know where a session's backlog ends:
// Synced is called, in order with the messages (after HandleAsync of every
// message delivered before), when the broker has delivered everything it
// held for the session when it connected. done as for HandleAsync.
type Syncer interface {
	Synced(ctx context.Context, done func(error))
}

// isSync reports whether topic is a marker's, of any session.
func isSync(topic string) bool { return strings.HasPrefix(topic, wire.TopicRoot+"/"+syncTenant+"/") }

// syncMarker is one session's markers: the topics it publishes them on and
// those of the current round not yet back.
type syncMarker struct {
	topics []string

	mu      sync.Mutex
	nonce   string
	waiting map[string]bool
}

// newSyncMarker returns the markers of session id subscribed to filters:
// one per filter of all agents' messages of a channel. Nil if there is
// none, or the id cannot be a topic level.
func newSyncMarker(id string, filters []string) *syncMarker {
	if wire.ValidateSegment(id) != nil {
		return nil
	}
	m := &syncMarker{}
	for _, f := range filters {
		for _, ch := range []wire.Channel{wire.ChannelStatus, wire.ChannelInventory, wire.ChannelEvents, wire.ChannelMetrics} {
			if f == wire.Filter("+", ch) {
				m.topics = append(m.topics, wire.TopicRoot+"/"+syncTenant+"/sync/"+id+"/"+string(ch))
			}
		}
	}
	if len(m.topics) == 0 {
		return nil
	}
	return m
}

// publish starts a round: a fresh nonce on every marker topic. All are
// sent before any acknowledgement is awaited: the broker's PUBACK comes in
// behind the backlog the hub is reading (paho reads one stream), so it may
// take as long as the backlog; the wait only says whether they went out.
func (m *syncMarker) publish(cl paho.Client, wait time.Duration) error {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(b[:])
	m.mu.Lock()
	m.nonce, m.waiting = nonce, map[string]bool{}
	for _, t := range m.topics {
		m.waiting[t] = true
	}
	m.mu.Unlock()
	toks := make([]paho.Token, len(m.topics))
	for i, t := range m.topics {
		toks[i] = cl.Publish(t, 1, false, nonce)
	}
	end := time.Now().Add(wait)
	for i, tok := range toks {
		if !tok.WaitTimeout(time.Until(end)) {
			return fmt.Errorf("marker %s: no acknowledgement within %s", m.topics[i], wait)
		}
		if err := tok.Error(); err != nil {
			return fmt.Errorf("marker %s: %w", m.topics[i], err)
		}
	}
	return nil
}

// back takes a marker that came back and reports whether it was the last
// one of the current round (a marker of an earlier round, or another
// session's, changes nothing).
func (m *syncMarker) back(topic string, payload []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if string(payload) != m.nonce || !m.waiting[topic] {
		return false
	}
	delete(m.waiting, topic)
	return len(m.waiting) == 0
}
