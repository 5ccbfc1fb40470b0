package uplink

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"sync"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	"golang.org/x/net/proxy"

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
	var tc *tls.Config
	if needsTLS(url) {
		var err error
		if tc, cinfo, err = loadTLS(d.broker); err != nil {
			return nil, err
		}
		o.SetTLSConfig(tc)
	}
	tie := &connTie{}
	o.SetCustomOpenConnectionFn(tie.open(ctx, d.timeout, tc))
	s := &pahoSession{lost: make(chan struct{})}
	o.SetConnectionLostHandler(func(_ mqtt.Client, err error) { s.markLost(err) })
	s.c = mqtt.NewClient(o)
	tok := s.c.Connect()
	// paho dials and waits for the CONNACK in a goroutine of its own that
	// knows no context. The connection is tied to ctx (connTie), so ctx's
	// end closes it and the attempt ends at once; waiting for the token
	// then means no attempt outlives Dial, and so none outlives Run. (An
	// attempt left running once went on connecting to a broker that a test
	// was closing, a data race inside the broker.)
	<-tok.Done()
	err := tok.Error()
	if err == nil && !tie.keep() {
		s.Close() // connected just as ctx ended
		err = errors.New("connection abandoned")
	}
	if err != nil {
		if ctx.Err() != nil {
			err = fmt.Errorf("no answer from the broker: %w", ctx.Err())
		}
		return nil, explainConnect(url, d.broker, cinfo, err)
	}
	return s, nil
}

// connTie ties the network connection of one connect attempt to a
// context until the attempt succeeded: the context's end aborts the dial and
// the TLS handshake and closes a connection still in its MQTT handshake.
type connTie struct {
	mu   sync.Mutex
	stop func() bool // ends the tie; false if the context closed the connection
}

// open opens the connection as paho would (the same schemes, the proxy
// from the environment as paho takes it), within ctx.
func (t *connTie) open(ctx context.Context, timeout time.Duration, tc *tls.Config) mqtt.OpenConnectionFunc {
	return func(u *url.URL, o mqtt.ClientOptions) (net.Conn, error) {
		dctx, cancel := context.WithTimeout(ctx, timeout)
		defer cancel()
		var conn net.Conn
		var err error
		switch u.Scheme {
		case "ws", "wss":
			ws := *u
			ws.User = nil // gorilla/websocket refuses URLs with user info (as paho does)
			var wtc *tls.Config
			if u.Scheme == "wss" {
				wtc = tc
			}
			conn, err = mqtt.NewWebsocket(ws.String(), wtc, timeout, o.HTTPHeaders, o.WebsocketOptions)
		default:
			conn, err = dialProxied(dctx, u.Host, timeout, u.Scheme == "tcp" || u.Scheme == "mqtt")
			if err == nil && tc != nil {
				cfg := tc.Clone()
				if cfg.ServerName == "" {
					cfg.ServerName = u.Hostname()
				}
				tlsConn := tls.Client(conn, cfg)
				if err = tlsConn.HandshakeContext(dctx); err != nil {
					conn.Close()
				}
				conn = tlsConn
			}
		}
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		t.stop = context.AfterFunc(ctx, func() { conn.Close() })
		t.mu.Unlock()
		return conn, nil
	}
}

// keep unties a connection that completed its handshake; it reports
// false if ctx ended first and closed it.
func (t *connTie) keep() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stop == nil || t.stop()
}

// dialProxied dials addr over TCP, through the proxy the environment names
// (ALL_PROXY and NO_PROXY, as paho does: always for plain MQTT, only when
// all_proxy is set for TLS).
func dialProxied(ctx context.Context, addr string, timeout time.Duration, plain bool) (net.Conn, error) {
	direct := &net.Dialer{Timeout: timeout}
	if !plain && os.Getenv("all_proxy") == "" {
		return direct.DialContext(ctx, "tcp", addr)
	}
	d := proxy.FromEnvironmentUsing(direct)
	if cd, ok := d.(proxy.ContextDialer); ok {
		return cd.DialContext(ctx, "tcp", addr)
	}
	return d.Dial("tcp", addr)
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

// errRefused is a subscription the broker refused in its SUBACK: its ACL,
// or a broker that could not set it up.
var errRefused = errors.New("the broker refused the subscription")

// subscribeQoS is the QoS of the agent's subscriptions (cmd/req, config):
// 0. The hub publishes at QoS 1, and the broker delivers at the lower of
// the two. The agent's session is clean, so QoS 1 would buy nothing: what
// a broker holds for a clean session ends with the connection either way,
// and a message lost on the way is asked for again by the hub (a remote
// query times out, a resend request is repeated, a retained configuration
// comes again at the next subscription). But it costs the broker: for every
// QoS 1 subscription nats-server makes a JetStream consumer, replicated
// like the streams, at every connect. At 1,000 agents on a 3-node cluster
// those consumers were what the nodes spent their time on, and what they
// timed out creating (SUBACK 0x80, docs/benchmarks.md); at QoS 0 an agent
// costs the cluster no consumer at all.
const subscribeQoS = 0

func (s *pahoSession) Subscribe(ctx context.Context, topic string, fn func([]byte)) error {
	tok := s.c.Subscribe(topic, subscribeQoS, func(_ mqtt.Client, m mqtt.Message) { fn(m.Payload()) })
	if err := waitToken(ctx, tok, s.lost); err != nil {
		return err
	}
	// A broker that refuses the subscription says so in the SUBACK (0x80),
	// which paho reports only here: without the subscription the agent
	// would never hear remote queries or resend requests (seen with a NATS
	// cluster that failed to create the session's consumer).
	if st, ok := tok.(*mqtt.SubscribeToken); ok {
		if code, ok := st.Result()[topic]; ok && code == 0x80 {
			return fmt.Errorf("%w to %s", errRefused, topic)
		}
	}
	return nil
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
