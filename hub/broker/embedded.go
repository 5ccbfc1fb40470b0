package broker

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/storewatch/storewatch/wire"
)

// Handler receives every agent message; it returns an error when the message
// must not be acknowledged (it could not be committed).
type Handler interface {
	Handle(ctx context.Context, topic string, payload []byte, client string) error
}

// Metrics count what the broker refuses.
type Metrics struct {
	AuthFailures prometheus.Counter
	Denied       *prometheus.CounterVec // by action: publish, subscribe, will
	Connected    prometheus.Gauge
}

// NewMetrics registers the broker metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		AuthFailures: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "storehub", Subsystem: "broker", Name: "auth_failures_total",
			Help: "MQTT connections refused for a wrong user, password or certificate."}),
		Denied: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "storehub", Subsystem: "broker", Name: "acl_denied_total",
			Help: "Publishes and subscriptions refused because they leave the agent's subtree."}, []string{"action"}),
		Connected: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: "storehub", Subsystem: "broker", Name: "agents_connected",
			Help: "Agents connected to the embedded broker."}),
	}
	if reg != nil {
		reg.MustRegister(m.AuthFailures, m.Denied, m.Connected)
	}
	return m
}

// Embedded is the in-process broker.
type Embedded struct {
	srv       *mqtt.Server
	listeners []listeners.Listener
	hook      *hook
	stop      context.CancelFunc // the feeder's
}

// EmbeddedOptions configures the embedded broker.
type EmbeddedOptions struct {
	Config  EmbeddedConfig
	Access  *Access
	Handler Handler
	Log     *slog.Logger
	Metrics *Metrics
}

// StartEmbedded starts the broker's listeners.
func StartEmbedded(o EmbeddedOptions) (*Embedded, error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	srv := mqtt.New(&mqtt.Options{InlineClient: true, Logger: o.Log}) // o.Log already says part=mqtt (a second With would write the key twice)
	// QoS 1 is all storewatch uses.
	srv.Options.Capabilities.MaximumQos = 1
	// No message expires by age: mochi's default drops a retained message
	// a day after it was published, and an agent's configuration, which
	// the hub retains once and publishes again only when it changes,
	// must still be there for an agent that connects a week later.
	// (Agents speak MQTT 3.1.1, which has no per-message expiry.)
	srv.Options.Capabilities.MaximumMessageExpiryInterval = 0
	// mochi gives every client a channel of this many pending writes, made
	// at connect: its default of 8,192 pointers is 64 KiB per agent, 640 MiB
	// for 10,000 stores (the benchmark suite's chain). The hub writes little
	// to an agent (its remote queries, at most a few a minute per device,
	// and the acknowledgements, which do not use the queue).
	srv.Options.Capabilities.MaximumClientWritesPending = 64
	// Each client's reads go through a buffer of this size (mochi's default
	// is 2 KiB): an agent sends one message at a time and waits for its
	// acknowledgement, most under 1 KiB; a larger packet is read past the
	// buffer straight into its own slice. BenchmarkEmbeddedConnection
	// measures what an agent costs (docs/benchmarks.md).
	srv.Options.ClientNetReadBufferSize = 1024
	h := &hook{access: o.Access, handler: o.Handler, log: o.Log, m: o.Metrics, clients: map[*mqtt.Client]*agentConn{},
		admission: newAdmission(embeddedInFlight)}
	e := &Embedded{srv: srv, hook: h, stop: func() {}}
	if async, ok := o.Handler.(AsyncHandler); ok {
		h.feeder = newFeeder(async)
		ctx, cancel := context.WithCancel(context.Background())
		e.stop = func() { cancel(); <-h.feeder.ended }
		go h.feeder.run(ctx)
	}
	if err := srv.AddHook(h, nil); err != nil {
		e.stop()
		return nil, err
	}
	listen := func(id, addr string, tc *tls.Config) error {
		tl, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("broker: listen %s: %w", addr, err)
		}
		var l net.Listener = tl
		if tc != nil {
			l = tls.NewListener(l, tc)
		}
		ml := listeners.NewNet(id, admittedListener{l, h.admission})
		if err := srv.AddListener(ml); err != nil {
			tl.Close()
			return fmt.Errorf("broker: listen %s: %w", addr, err)
		}
		e.listeners = append(e.listeners, ml)
		return nil
	}
	err := func() error {
		if o.Config.Listen != "" {
			if err := listen("mqtt", o.Config.Listen, nil); err != nil {
				return err
			}
		}
		if o.Config.TLSListen != "" {
			tc, err := serverTLS(o.Config)
			if err != nil {
				return err
			}
			if err := listen("mqtts", o.Config.TLSListen, tc); err != nil {
				return err
			}
		}
		if err := srv.Serve(); err != nil {
			return fmt.Errorf("broker: %w", err)
		}
		return nil
	}()
	if err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

func serverTLS(c EmbeddedConfig) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(c.TLSCert, c.TLSKey)
	if err != nil {
		return nil, fmt.Errorf("broker: tls certificate: %w", err)
	}
	tc := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if c.ClientCA != "" {
		pool, err := loadPool("client_ca", c.ClientCA)
		if err != nil {
			return nil, err
		}
		tc.ClientCAs, tc.ClientAuth = pool, tls.VerifyClientCertIfGiven
	}
	return tc, nil
}

// loadPool reads a PEM file of CA certificates; setting names it in errors.
func loadPool(setting, path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("broker: %s: %w", setting, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("broker: %s %s: no certificates", setting, path)
	}
	return pool, nil
}

// Addrs returns the listeners' bound addresses (useful with port 0).
func (e *Embedded) Addrs() []string {
	var out []string
	for _, l := range e.listeners {
		out = append(out, l.Address())
	}
	return out
}

// Publish sends a message from the hub (command requests).
func (e *Embedded) Publish(topic string, payload []byte) error {
	return e.srv.Publish(topic, payload, false, 1)
}

// PublishRetained sends a retained message from the hub (an agent's
// device configuration, which it gets at every connect).
func (e *Embedded) PublishRetained(topic string, payload []byte) error {
	return e.srv.Publish(topic, payload, true, 1)
}

// ErrCredentialWithdrawn is why the broker disconnects an agent whose
// credential was revoked or replaced by a new enrolment.
var ErrCredentialWithdrawn = errors.New("credential revoked or replaced at the hub")

// Recheck disconnects every agent whose credential the access table no
// longer holds (revoked, or replaced by a new enrolment), and returns
// them. They cannot log in again with it.
func (e *Embedded) Recheck() []wire.AgentID {
	h := e.hook
	h.mu.Lock()
	var gone []*mqtt.Client
	var ids []wire.AgentID
	for cl, c := range h.clients {
		if !h.access.Current(c.cred) {
			gone = append(gone, cl)
			ids = append(ids, c.cred.ID)
		}
	}
	h.mu.Unlock()
	for i, cl := range gone {
		h.log.Warn("mqtt agent cut off: its credential was revoked or replaced", "agent", ids[i], "remote", cl.Net.Remote)
		cl.Stop(ErrCredentialWithdrawn)
	}
	return ids
}

// Close stops the broker.
func (e *Embedded) Close() error {
	err := e.srv.Close()
	e.stop()
	return err
}

// hook authenticates agents, confines them to their subtree, and hands every
// agent publish to ingest; the agent has its acknowledgement once ingest
// has committed the message.
type hook struct {
	mqtt.HookBase
	access    *Access
	handler   Handler
	feeder    *feeder    // hands messages to handler if it is an AsyncHandler (ingest is), else nil
	admission *admission // bounds the messages fed and not yet done
	log       *slog.Logger
	m         *Metrics

	mu      sync.Mutex
	clients map[*mqtt.Client]*agentConn
}

// agentConn is a logged-in agent's connection.
type agentConn struct {
	cred Credential
	cl   *mqtt.Client
	in   *admittedConn   // its connection as admission sees it
	acks inOrder[uint16] // its QoS 1 messages handed over, by packet id, until acknowledged
}

func (h *hook) ID() string { return "storehub" }

func (h *hook) Provides(b byte) bool {
	return bytes.Contains([]byte{mqtt.OnConnectAuthenticate, mqtt.OnACLCheck, mqtt.OnPublish, mqtt.OnWill, mqtt.OnWillSent, mqtt.OnDisconnect}, []byte{b})
}

func (h *hook) agent(cl *mqtt.Client) (wire.AgentID, bool) {
	c := h.conn(cl)
	if c == nil {
		return wire.AgentID{}, false
	}
	return c.cred.ID, true
}

// conn returns a logged-in agent's connection, or nil.
func (h *hook) conn(cl *mqtt.Client) *agentConn {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.clients[cl]
}

func peerCN(cl *mqtt.Client) string {
	conn := cl.Net.Conn
	if ac, ok := conn.(*admittedConn); ok {
		conn = ac.Conn
	}
	tc, ok := conn.(*tls.Conn)
	if !ok {
		return ""
	}
	st := tc.ConnectionState()
	if len(st.VerifiedChains) == 0 || len(st.VerifiedChains[0]) == 0 {
		return ""
	}
	return st.VerifiedChains[0][0].Subject.CommonName
}

func (h *hook) OnConnectAuthenticate(cl *mqtt.Client, pk packets.Packet) bool {
	user := string(pk.Connect.Username)
	c, ok := h.access.Authenticate(user, string(pk.Connect.Password), peerCN(cl))
	if !ok {
		h.m.AuthFailures.Inc()
		h.log.Warn("mqtt login refused", "user", user, "remote", cl.Net.Remote)
		return false
	}
	if pk.Connect.WillFlag && !MayPublish(c.ID, pk.Connect.WillTopic) {
		h.m.Denied.WithLabelValues("will").Inc()
		h.log.Warn("mqtt will outside the agent's subtree", "agent", c.ID, "topic", pk.Connect.WillTopic)
		return false
	}
	h.mu.Lock()
	h.clients[cl] = &agentConn{cred: c, cl: cl, in: admittedOf(cl.Net.Conn)}
	h.mu.Unlock()
	h.m.Connected.Inc()
	return true
}

func (h *hook) OnDisconnect(cl *mqtt.Client, _ error, _ bool) {
	h.mu.Lock()
	_, ok := h.clients[cl]
	delete(h.clients, cl)
	h.mu.Unlock()
	if ok {
		h.m.Connected.Dec()
	}
}

func (h *hook) OnACLCheck(cl *mqtt.Client, topic string, write bool) bool {
	id, ok := h.agent(cl)
	if !ok {
		return false
	}
	if write {
		if MayPublish(id, topic) {
			return true
		}
		h.m.Denied.WithLabelValues("publish").Inc()
		h.log.Warn("mqtt publish outside the agent's subtree", "agent", id, "topic", topic)
		return false
	}
	if MaySubscribe(id, topic) {
		return true
	}
	h.m.Denied.WithLabelValues("subscribe").Inc()
	h.log.Warn("mqtt subscription outside the agent's subtree", "agent", id, "filter", topic)
	return false
}

func (h *hook) OnPublish(cl *mqtt.Client, pk packets.Packet) (packets.Packet, error) {
	if cl.Net.Inline || !strings.HasPrefix(pk.TopicName, wire.TopicRoot+"/") {
		return pk, nil
	}
	if c := h.conn(cl); h.feeder != nil && c != nil {
		h.handOver(c, pk)
		// mochi neither acknowledges nor keeps a rejected publish
		// (notRetained); handOver has it acknowledged once committed.
		return pk, packets.ErrRejectPacket
	}
	if err := h.handler.Handle(context.Background(), pk.TopicName, pk.Payload, cl.ID); err != nil {
		// Not committed: no PUBACK, so the agent sends it again.
		h.log.Error("ingest failed; message not acknowledged", "topic", pk.TopicName, "err", err)
		return pk, packets.ErrRejectPacket
	}
	pk.FixedHeader.Retain = false // see notRetained
	return pk, nil
}

// handOver gives an agent's publish to the AsyncHandler (through the
// feeder) and returns at once: the PUBACK goes out once the message is
// committed, in the order the agent's messages arrived (inOrder), from a
// goroutine that lives while acknowledgements are due. Waiting for the
// commit here instead would hold mochi's read goroutine deep in its
// publish path: its frames (packets passed by value, about 15 KiB down
// to this hook) and ingest's decoding grow that goroutine's stack to
// 32 KiB, and during a burst every agent's reader waits there at once:
// 360 MiB of stacks for 10,000 stores (go_memstats_stack_inuse_bytes in
// the benchmark suite's chain). Returning, the reader goes back to its
// connection, where admission holds it while ingest is full, with about
// 5 KiB in use, and the collector shrinks its stack to 16 KiB.
// BenchmarkEmbeddedConnection measures both.
func (h *hook) handOver(c *agentConn, pk packets.Packet) {
	topic := pk.TopicName
	h.admission.handed(c.in)
	m := handoff{topic: topic, payload: pk.Payload, client: c.cl.ID}
	if pk.FixedHeader.Qos == 0 { // nothing to acknowledge
		m.done = func(err error) {
			h.admission.done()
			if err != nil {
				h.log.Error("ingest failed; a QoS 0 message is lost", "topic", topic, "err", err)
			}
		}
		h.feeder.give(m)
		return
	}
	r := c.acks.add(pk.PacketID)
	m.done = func(err error) {
		h.admission.done()
		if err != nil {
			// Not committed: no PUBACK, so the agent sends it again.
			h.log.Error("ingest failed; message not acknowledged", "topic", topic, "err", err)
		}
		if c.acks.done(r, err == nil) {
			go h.acknowledge(c)
		}
	}
	h.feeder.give(m)
}

// acknowledge sends the PUBACKs due on an agent's connection, in order,
// until none is left; WritePacket serialises them with mochi's own
// writes. A connection gone meanwhile fails them at once (the agent
// sends those messages again on its next connection), and a stalled one
// holds this goroutine at most until the connection's deadline.
func (h *hook) acknowledge(c *agentConn) {
	var due []*received[uint16]
	for {
		due = c.acks.take(due[:0])
		if len(due) == 0 {
			return
		}
		for _, r := range due {
			if !r.ok {
				continue
			}
			ack := packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: r.m}
			if err := c.cl.WritePacket(ack); err != nil {
				h.log.Debug("acknowledgement not sent", "client", c.cl.ID, "packet", r.m, "err", err)
			}
		}
	}
}

// OnWill keeps an agent's will, like its other messages, out of the
// retained store (notRetained).
func (h *hook) OnWill(_ *mqtt.Client, w mqtt.Will) (mqtt.Will, error) {
	w.Retain = false
	return w, nil
}

// notRetained: the embedded broker keeps no agent's message as retained
// (status, inventory, will). The hub takes each one as it arrives, and
// nobody else may subscribe to an agent's messages here (an agent only
// to its own requests and configuration), so a retained copy would serve
// nobody. It would cost: mochi copies its whole retained store once a
// second to look for expired messages, which at 10,000 stores (three
// or four retained messages each) took a sixth of storehub's CPU and fed
// the garbage collector most of the rest (perf, docs/benchmarks.md).
// What the hub itself retains (an agent's configuration) stays retained.

// OnWillSent hands an agent's will to ingest. With the feeder it goes
// the way of the agent's messages, behind those still on their way: an
// offline status must not overtake the events the agent sent before its
// connection died.
func (h *hook) OnWillSent(cl *mqtt.Client, pk packets.Packet) {
	topic := pk.TopicName
	failed := func(err error) {
		if err != nil && !errors.Is(err, context.Canceled) {
			h.log.Error("ingest of a will failed", "topic", topic, "err", err)
		}
	}
	if h.feeder == nil {
		failed(h.handler.Handle(context.Background(), topic, pk.Payload, cl.ID))
		return
	}
	h.admission.handed(nil)
	h.feeder.give(handoff{topic: topic, payload: pk.Payload, client: cl.ID, done: func(err error) {
		h.admission.done()
		failed(err)
	}})
}
