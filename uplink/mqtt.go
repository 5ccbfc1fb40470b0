package uplink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/storewatch/storewatch/config"
)

// session is one MQTT connection. It is small so the uplink does not depend
// on paho beyond this file (moving to another client stays local) and so
// unit tests can fake a connection that drops at the worst moment.
type session interface {
	// Publish sends at QoS 1; the delivery completes on PUBACK.
	Publish(topic string, retained bool, payload []byte) delivery
	// Subscribe registers fn for messages on topic (QoS 1). fn runs on the
	// client's goroutine and must not block.
	Subscribe(ctx context.Context, topic string, fn func(payload []byte)) error
	// Lost is closed when the connection is gone.
	Lost() <-chan struct{}
	// Close sends DISCONNECT (so the broker drops the will) and ends it.
	Close()
}

// delivery is a QoS 1 publish in flight.
type delivery interface {
	// Wait returns nil only on PUBACK on the same connection; a lost
	// connection or ctx's end is an error.
	Wait(ctx context.Context) error
	// Done is closed when the publish completed; then Err says whether it
	// failed. A nil Err proves a PUBACK only if the session was not lost
	// (Wait checks that; users of Done must).
	Done() <-chan struct{}
	Err() error
}

// will is the message the broker publishes when the connection dies.
type will struct {
	topic   string
	payload []byte
}

// dialer opens a session to one broker URL.
type dialer interface {
	Dial(ctx context.Context, url string, w will) (session, error)
}

var errConnectionLost = errors.New("connection lost before the broker acknowledged")

// pahoDialer connects with paho.mqtt.golang: MemoryStore, clean session, no
// automatic reconnect (the uplink reconnects itself, with jitter, and makes a
// new client each time, as paho advises), OrderMatters off so a slow handler
// never stalls the network loop.
type pahoDialer struct {
	broker    config.Broker
	clientID  string
	keepAlive time.Duration
	timeout   time.Duration
}

func (d *pahoDialer) Dial(ctx context.Context, url string, w will) (session, error) {
	o := mqtt.NewClientOptions().
		AddBroker(url).
		SetClientID(d.clientID).
		SetProtocolVersion(4).
		SetCleanSession(true).
		SetAutoReconnect(false).
		SetConnectRetry(false).
		SetOrderMatters(false).
		SetStore(mqtt.NewMemoryStore()).
		SetKeepAlive(d.keepAlive).
		SetPingTimeout(d.timeout).
		SetConnectTimeout(d.timeout).
		SetWriteTimeout(d.timeout).
		SetBinaryWill(w.topic, w.payload, 1, true)
	if d.broker.Username != "" {
		o.SetUsername(d.broker.Username)
		o.SetPassword(d.broker.Password)
	}
	var cinfo clientCertInfo
	if needsTLS(url) {
		tc, info, err := loadTLS(d.broker)
		if err != nil {
			return nil, err
		}
		cinfo = info
		o.SetTLSConfig(tc)
	}
	s := &pahoSession{lost: make(chan struct{})}
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { s.markLost(err) })
	s.c = mqtt.NewClient(o)
	tok := s.c.Connect()
	if err := waitToken(ctx, tok, nil); err != nil {
		// The client may still be dialling; make sure it gives up.
		go s.c.Disconnect(0)
		return nil, explainConnect(url, d.broker, cinfo, err)
	}
	return s, nil
}

type pahoSession struct {
	c    mqtt.Client
	once sync.Once
	lost chan struct{}
}

func (s *pahoSession) markLost(error) { s.once.Do(func() { close(s.lost) }) }

func (s *pahoSession) Lost() <-chan struct{} { return s.lost }

func (s *pahoSession) Publish(topic string, retained bool, payload []byte) delivery {
	return &pahoDelivery{tok: s.c.Publish(topic, 1, retained, payload), s: s}
}

func (s *pahoSession) Subscribe(ctx context.Context, topic string, fn func([]byte)) error {
	tok := s.c.Subscribe(topic, 1, func(_ mqtt.Client, m mqtt.Message) { fn(m.Payload()) })
	return waitToken(ctx, tok, s.lost)
}

func (s *pahoSession) Close() {
	s.markLost(nil)
	s.c.Disconnect(250)
}

type pahoDelivery struct {
	tok mqtt.Token
	s   *pahoSession
}

func (d *pahoDelivery) Wait(ctx context.Context) error { return waitToken(ctx, d.tok, d.s.lost) }
func (d *pahoDelivery) Done() <-chan struct{}          { return d.tok.Done() }
func (d *pahoDelivery) Err() error                     { return d.tok.Error() }

// waitToken waits for a paho token, the connection's loss, or ctx. A token
// that completes after the connection was lost proves nothing (paho may
// complete it without a PUBACK), so loss wins.
func waitToken(ctx context.Context, tok mqtt.Token, lost <-chan struct{}) error {
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return err
		}
		if lost != nil {
			select {
			case <-lost:
				return errConnectionLost
			default:
			}
		}
		return nil
	case <-lost:
		return errConnectionLost
	case <-ctx.Done():
		return fmt.Errorf("no answer from the broker: %w", ctx.Err())
	}
}

func needsTLS(url string) bool {
	for _, p := range []string{"tls://", "ssl://", "mqtts://", "wss://", "tcps://"} {
		if len(url) >= len(p) && url[:len(p)] == p {
			return true
		}
	}
	return false
}
