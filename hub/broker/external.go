package broker

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/storewatch/storewatch/wire"
)

// External is the hub's connection to one or more external brokers.
type External struct {
	clients []paho.Client
	log     *slog.Logger
	changed chan struct{} // a connection came up or was lost
}

// Subscriptions returns the filters the hub subscribes to. Presence and
// inventory are retained, and brokers do not deliver retained messages to
// shared subscriptions, so they are always subscribed directly; events and
// metrics go through $share/<group>/ when a group is set. Query answers are
// subscribed directly too: the replica that sent a request waits for its
// answer, so every replica must see every answer.
func Subscriptions(shareGroup string) []string {
	var out []string
	for _, ch := range []wire.Channel{wire.ChannelStatus, wire.ChannelInventory, wire.ChannelEvents, wire.ChannelMetrics, wire.ChannelCmdRes} {
		f := wire.Filter("+", ch)
		if shareGroup != "" && (ch == wire.ChannelEvents || ch == wire.ChannelMetrics) {
			f = "$share/" + shareGroup + "/" + f
		}
		out = append(out, f)
	}
	return out
}

// MaxInFlight bounds the messages of one broker connection the hub works on
// at once (received, not yet committed and acknowledged). The ingest
// pipeline commits up to 2,048 messages together and applies the next batch
// while one is committed, so this keeps it fed; beyond it the hub stops
// reading from the connection, and the broker keeps what it has not sent
// (its max_inflight_messages and max_queued_messages, docs/hub.md).
const MaxInFlight = 4096

// StartExternal connects to every configured broker. Each connection has a
// persistent session (CleanSession=false) under a stable client id (the
// configured id, suffixed by the URL's position when there are several), so
// the broker queues QoS 1 messages while the hub is down; messages are
// acknowledged only after handler committed them.
func StartExternal(ctx context.Context, c ExternalConfig, handler Handler, log *slog.Logger) (*External, error) {
	return startExternal(ctx, c, Session{}, handler, log, MaxInFlight)
}

// Session is one session of a hub replica among several (hub/cluster)
// on the external brokers: a partition's persistent one, or the replica's
// own clean one for query answers.
type Session struct {
	ClientID string // instead of the configured one
	// Subscriptions instead of Subscriptions(ShareGroup).
	Subscriptions []string
	Clean         bool // CleanSession: the broker keeps nothing while it is away
	// Failover makes the URLs the nodes of one broker cluster: one
	// connection, to the first node that answers, moving to another when
	// it is lost (instead of one connection to each URL).
	Failover bool
	// Sync marks where the backlog the broker kept for the session ends,
	// at every connection (sync.go); the handler learns it as a Syncer.
	Sync bool
}

// StartSession is StartExternal for one session of a replica.
func StartSession(ctx context.Context, c ExternalConfig, s Session, handler Handler, log *slog.Logger) (*External, error) {
	return startExternal(ctx, c, s, handler, log, MaxInFlight)
}

func startExternal(ctx context.Context, c ExternalConfig, s Session, handler Handler, log *slog.Logger, inFlight int) (*External, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	tc, err := clientTLS(c)
	if err != nil {
		return nil, err
	}
	x := &External{log: log, changed: make(chan struct{}, 1)}
	subs := Subscriptions(c.ShareGroup)
	if s.Subscriptions != nil {
		subs = s.Subscriptions
	}
	base := c.ClientID
	if s.ClientID != "" {
		base = s.ClientID
	}
	groups := [][]string{}
	for _, u := range c.URLs {
		groups = append(groups, []string{u})
	}
	if s.Failover {
		groups = [][]string{c.URLs}
	}
	for i, urls := range groups {
		u := strings.Join(urls, ",")
		id := base
		if len(groups) > 1 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		var marker *syncMarker
		if s.Sync {
			if marker = newSyncMarker(id, subs); marker == nil {
				log.Warn("no end-of-backlog marker for this session: its client id is not a topic level, or it subscribes to no agents' channel", "client_id", id)
			}
		}
		onMessage := x.receiver(ctx, handler, inFlight, marker)
		opts := paho.NewClientOptions().SetClientID(id).SetCleanSession(s.Clean).
			SetUsername(c.Username).SetPassword(c.Password).SetTLSConfig(tc).
			SetOrderMatters(true).SetAutoAckDisabled(true).SetResumeSubs(true).
			SetConnectRetry(true).SetConnectRetryInterval(2 * time.Second).SetMaxReconnectInterval(30 * time.Second).
			SetDefaultPublishHandler(onMessage). // before Connect: a resumed session delivers at once
			SetCustomOpenConnectionFn(openBuffered).
			SetStore(newSessionStore())
		for _, b := range urls {
			opts.AddBroker(b)
		}
		url := u
		opts.SetOnConnectHandler(func(cl paho.Client) {
			x.signal()
			filters := map[string]byte{}
			for _, s := range subs {
				filters[s] = 1
			}
			// No callback: paho would add a route per filter and match
			// every message against each (splitting topic and filter each
			// time); the default handler takes them all.
			t := cl.SubscribeMultiple(filters, nil)
			if !t.WaitTimeout(30*time.Second) || t.Error() != nil {
				log.Error("subscribe failed", "broker", url, "err", t.Error())
				return
			}
			log.Info("connected to broker", "broker", url, "client_id", id, "filters", subs)
			if marker != nil {
				marker.connected(ctx, cl, func(err error) {
					log.Warn("cannot mark the end of the session's backlog; the hub decides once its wait for it ends", "broker", url, "err", err)
				})
			}
		})
		opts.SetConnectionLostHandler(func(_ paho.Client, err error) {
			log.Warn("broker connection lost", "broker", url, "err", err)
			x.signal()
		})
		cl := paho.NewClient(opts)
		cl.Connect() // with ConnectRetry it keeps trying in the background
		x.clients = append(x.clients, cl)
	}
	return x, nil
}

// AsyncHandler is a Handler that takes a message without waiting for its
// commit: HandleAsync returns once the message is queued (in order, so the
// messages of one connection keep their order) and calls done exactly once,
// from another goroutine or before returning: with nil once the message is
// committed or rejected, with an error if it could not be committed. The
// ingest pipeline is one; an External then holds no goroutine per message.
type AsyncHandler interface {
	Handler
	HandleAsync(ctx context.Context, topic string, payload []byte, client string, done func(error))
}

// receiver returns the paho handler of one connection. paho calls it for
// one message after the other (OrderMatters true); a slot per message
// bounds the messages worked on at once to inFlight. With OrderMatters
// false paho would start a goroutine per message itself, as many as the
// broker sends unacknowledged (unbounded with Mosquitto's
// max_inflight_messages 0). While every slot is taken the receiver waits,
// so paho stops reading the connection; acknowledgements still go out, so
// slots free up as the pipeline commits.
//
// An AsyncHandler gets each message handed over at once; another Handler
// is called from a set of workers, at most inFlight of them, started as
// needed and reused. Either way the messages are acknowledged in the order
// they arrived, each once its work is done (inOrder), by one goroutine
// (paho's Ack can wait on the connection, and the pipeline's committer
// must not). Both end with ctx; a message not acknowledged by then is
// delivered again by the broker.
//
// A marker of the end of a backlog (sync.go) is acknowledged like a
// message; the last of its session's round is handed to a Syncer handler.
func (x *External) receiver(ctx context.Context, handler Handler, inFlight int, marker *syncMarker) paho.MessageHandler {
	slots := make(chan struct{}, inFlight)
	log := x.log
	var acks inOrder[paho.Message]
	ready := make(chan struct{}, 1) // a turn to take from acks
	go func() {
		var due []*received[paho.Message]
		for {
			select {
			case <-ready:
			case <-ctx.Done():
				return
			}
			for { // the turn ends with a take that finds nothing
				due = acks.take(due[:0])
				if len(due) == 0 {
					break
				}
				for _, r := range due {
					if r.ok {
						r.m.Ack()
					}
					<-slots
				}
				clear(due) // no message kept alive by the reused array
			}
		}
	}()
	finish := func(r *received[paho.Message], err error) {
		if err != nil {
			log.Error("ingest failed; message left unacknowledged for redelivery", "topic", r.m.Topic(), "err", err)
		}
		if acks.done(r, err == nil) {
			select {
			case ready <- struct{}{}:
			default: // the signal of the last turn is still there (the taker has stopped with ctx)
			}
		}
	}
	syncer, _ := handler.(Syncer)
	marked := func(m paho.Message) bool {
		if !isSync(m.Topic()) {
			return false
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return true
		}
		r := acks.add(m)
		if marker != nil && marker.back(m.Topic(), m.Payload()) && syncer != nil {
			syncer.Synced(ctx, func(err error) { finish(r, err) })
		} else {
			finish(r, nil)
		}
		return true
	}
	if ah, ok := handler.(AsyncHandler); ok {
		return func(_ paho.Client, m paho.Message) {
			if marked(m) {
				return
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return // not acknowledged: the broker delivers it again
			}
			r := acks.add(m)
			ah.HandleAsync(ctx, m.Topic(), m.Payload(), "", func(err error) { finish(r, err) })
		}
	}
	work := make(chan *received[paho.Message])
	var mu sync.Mutex
	workers := 0
	worker := func() {
		for {
			select {
			case r := <-work:
				finish(r, handler.Handle(ctx, r.m.Topic(), r.m.Payload(), ""))
			case <-ctx.Done():
				return
			}
		}
	}
	return func(_ paho.Client, m paho.Message) {
		if marked(m) {
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		r := acks.add(m)
		select {
		case work <- r:
			return
		default:
		}
		mu.Lock()
		if workers < inFlight {
			workers++
			go worker()
		}
		mu.Unlock()
		select {
		case work <- r:
		case <-ctx.Done():
		}
	}
}

// openBuffered opens a broker connection as paho would (without its
// proxy-from-environment support) and buffers both ways: paho reads each
// packet with several small reads (its type byte, each length byte, the
// rest) and writes each packet on its own, a system call each; through
// bufferedConn a read takes as many packets as the broker has sent, and a
// batch's acknowledgements leave in a few writes.
func openBuffered(u *url.URL, o paho.ClientOptions) (net.Conn, error) {
	d := o.Dialer
	if d == nil {
		d = &net.Dialer{Timeout: 30 * time.Second}
	}
	var conn net.Conn
	var err error
	switch u.Scheme {
	case "tcp", "mqtt":
		conn, err = d.Dial("tcp", u.Host)
	case "ssl", "tls", "mqtts", "tcps", "mqtt+ssl":
		conn, err = tls.DialWithDialer(d, "tcp", u.Host, o.TLSConfig)
	case "ws", "wss":
		plain := *u
		plain.User = nil
		var tc *tls.Config
		if u.Scheme == "wss" {
			tc = o.TLSConfig
		}
		conn, err = paho.NewWebsocket(plain.String(), tc, o.ConnectTimeout, o.HTTPHeaders, o.WebsocketOptions)
	default:
		return nil, fmt.Errorf("broker: unknown scheme %q", u.Scheme)
	}
	if err != nil {
		return nil, err
	}
	return newBufferedConn(conn), nil
}

// bufferedConn reads through a buffer and gathers writes: Write appends to
// a pending buffer and wakes a flusher goroutine, which writes everything
// pending at once, so what is written while a write is under way leaves
// with the next one. Packets keep their order. A write error is returned
// by the next Write and closes the connection (paho's reader then sees it
// lost); Close writes what is pending first and stops the flusher.
type bufferedConn struct {
	net.Conn
	r *bufio.Reader

	kick     chan struct{}
	done     chan struct{}
	stop     sync.Once
	flushing sync.Mutex // one flush at a time

	mu      sync.Mutex
	pending []byte
	spare   []byte
	err     error
}

func newBufferedConn(conn net.Conn) *bufferedConn {
	c := &bufferedConn{Conn: conn, r: bufio.NewReaderSize(conn, 64<<10), kick: make(chan struct{}, 1), done: make(chan struct{})}
	go c.flusher()
	return c
}

func (c *bufferedConn) Read(p []byte) (int, error) { return c.r.Read(p) }

func (c *bufferedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return 0, err
	}
	c.pending = append(c.pending, p...)
	c.mu.Unlock()
	select {
	case c.kick <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (c *bufferedConn) flusher() {
	for {
		select {
		case <-c.kick:
			if c.flush() != nil {
				c.Conn.Close()
				return
			}
		case <-c.done:
			return
		}
	}
}

func (c *bufferedConn) flush() error {
	c.flushing.Lock()
	defer c.flushing.Unlock()
	c.mu.Lock()
	buf := c.pending
	c.pending, c.spare = c.spare[:0], nil
	err := c.err
	c.mu.Unlock()
	if err != nil || len(buf) == 0 {
		c.mu.Lock()
		c.spare = buf[:0]
		c.mu.Unlock()
		return err
	}
	_, err = c.Conn.Write(buf)
	c.mu.Lock()
	if cap(buf) <= 1<<20 { // a rare large burst is not kept
		c.spare = buf[:0]
	}
	if err != nil && c.err == nil {
		c.err = fmt.Errorf("broker: write: %w", err)
	}
	c.mu.Unlock()
	return err
}

func (c *bufferedConn) Close() error {
	c.stop.Do(func() { close(c.done) })
	_ = c.flush()
	return c.Conn.Close()
}

func clientTLS(c ExternalConfig) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pool, err := loadPool("ca_file", c.CAFile)
		if err != nil {
			return nil, err
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("broker: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}

func (x *External) signal() {
	select {
	case x.changed <- struct{}{}:
	default:
	}
}

// Changed is signalled when a connection came up or was lost; Connected
// then says how things stand. While a connection is down the hub hears
// none of the stores behind it: its own outage (docs/hub.md).
func (x *External) Changed() <-chan struct{} { return x.changed }

// Connected reports whether every connection is up.
func (x *External) Connected() bool {
	for _, c := range x.clients {
		if !c.IsConnectionOpen() {
			return false
		}
	}
	return true
}

// Publish sends a message from the hub on the first connection that is up.
func (x *External) Publish(topic string, payload []byte) error {
	return x.publish(topic, payload, false)
}

// PublishRetained sends a retained message (an agent's device
// configuration) through the first connected broker.
func (x *External) PublishRetained(topic string, payload []byte) error {
	return x.publish(topic, payload, true)
}

func (x *External) publish(topic string, payload []byte, retained bool) error {
	for _, c := range x.clients {
		if c.IsConnectionOpen() {
			t := c.Publish(topic, 1, retained, payload)
			if !t.WaitTimeout(10 * time.Second) {
				return fmt.Errorf("broker: publish %s: timed out", topic)
			}
			return t.Error()
		}
	}
	return fmt.Errorf("broker: publish %s: no broker connection", topic)
}

// Close disconnects.
func (x *External) Close() error {
	for _, c := range x.clients {
		c.Disconnect(500)
	}
	return nil
}

// sessionStore is paho's in-memory store without the inbound QoS 1
// publishes. paho puts each one there on receipt and deletes it at its
// acknowledgement (a lock, a map insert and a delete per message, a few per
// cent of the hub's CPU per event), yet never uses it: a resumed session
// discards such entries, and the broker delivers an unacknowledged message
// again anyway. What paho sends (the hub's commands, subscriptions) and
// QoS 2 state are kept as in paho's MemoryStore.
type sessionStore struct {
	mu   sync.RWMutex
	msgs map[string]packets.ControlPacket
}

func newSessionStore() *sessionStore {
	return &sessionStore{msgs: map[string]packets.ControlPacket{}}
}

// inboundQoS1 reports whether paho is storing a publish it received at
// QoS 1 (its inbound keys start with "i.").
func inboundQoS1(key string, m packets.ControlPacket) bool {
	p, ok := m.(*packets.PublishPacket)
	return ok && p.Qos == 1 && strings.HasPrefix(key, "i.")
}

func (s *sessionStore) Open()  {}
func (s *sessionStore) Close() {}

func (s *sessionStore) Put(key string, m packets.ControlPacket) {
	if inboundQoS1(key, m) {
		return
	}
	s.mu.Lock()
	s.msgs[key] = m
	s.mu.Unlock()
}

func (s *sessionStore) Get(key string) packets.ControlPacket {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.msgs[key]
}

func (s *sessionStore) All() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	keys := make([]string, 0, len(s.msgs))
	for k := range s.msgs {
		keys = append(keys, k)
	}
	return keys
}

func (s *sessionStore) Del(key string) {
	s.mu.Lock()
	delete(s.msgs, key)
	s.mu.Unlock()
}

func (s *sessionStore) Reset() {
	s.mu.Lock()
	clear(s.msgs)
	s.mu.Unlock()
}
