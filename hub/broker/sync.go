package broker

import (
	"context"
	"crypto/rand"
	"encoding/hex"
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
// the rounds sent whose markers are not all back. Any complete round will
// do: its markers went out after what the broker held at the connection.
type syncMarker struct {
	topics []string

	mu     sync.Mutex
	gen    int                        // connections so far: a keeper of an older one stops
	rounds map[string]map[string]bool // nonce → topics not back yet
	order  []string                   // nonces, oldest first
	synced bool                       // a round came back on this connection
}

// remarkEvery is how often a session whose markers have not all come back
// sends another round: a broker may lose one (nats-server 2.9 did, when a
// session's client id moved between replicas as it connected).
const remarkEvery = 5 * time.Second

// maxRounds bounds the rounds a connection sends and keeps.
const maxRounds = 24

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

// connected starts a connection's marking: it sends a round now and
// another every remarkEvery until one is back, the connection is lost or
// replaced, or ctx ends. Its own goroutine.
func (m *syncMarker) connected(ctx context.Context, cl paho.Client, log func(error)) {
	m.mu.Lock()
	m.gen++
	gen := m.gen
	// The rounds sent on earlier connections stay good: what the broker
	// queued before them was delivered, or is delivered again before them.
	// Forgetting them at each reconnection (a hub too busy to answer the
	// broker's keepalive in time gets cut off) left a busy session with no
	// round ever complete.
	if m.rounds == nil {
		m.rounds = map[string]map[string]bool{}
	}
	m.synced = false
	m.mu.Unlock()
	var toks []paho.Token
	for range maxRounds {
		for _, t := range toks {
			if t.WaitTimeout(0) && t.Error() != nil {
				log(t.Error())
				break
			}
		}
		m.mu.Lock()
		stop := m.gen != gen || m.synced
		m.mu.Unlock()
		if stop || !cl.IsConnectionOpen() {
			return
		}
		var err error
		if toks, err = m.round(cl); err != nil {
			log(err)
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(remarkEvery):
		}
	}
}

// round sends a fresh nonce on every marker topic, all before any
// acknowledgement: the broker's PUBACK comes in behind the backlog the hub
// is reading (paho reads one stream), so it may take as long as the backlog.
func (m *syncMarker) round(cl paho.Client) ([]paho.Token, error) {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		return nil, err
	}
	nonce := hex.EncodeToString(b[:])
	m.mu.Lock()
	waiting := map[string]bool{}
	for _, t := range m.topics {
		waiting[t] = true
	}
	m.rounds[nonce] = waiting
	m.order = append(m.order, nonce)
	if len(m.order) > maxRounds {
		delete(m.rounds, m.order[0])
		m.order = m.order[1:]
	}
	m.mu.Unlock()
	toks := make([]paho.Token, len(m.topics))
	for i, t := range m.topics {
		toks[i] = cl.Publish(t, 1, false, nonce)
	}
	return toks, nil
}

// back takes a marker that came back and reports whether it completed a
// round, the first since the session last connected (a marker of a round
// it never sent, of one sent before the last completed, or another
// session's, changes nothing).
func (m *syncMarker) back(topic string, payload []byte) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	round := m.rounds[string(payload)]
	if m.synced || !round[topic] {
		return false
	}
	delete(round, topic)
	if len(round) > 0 {
		return false
	}
	m.synced, m.rounds, m.order = true, map[string]map[string]bool{}, nil
	return true
}
