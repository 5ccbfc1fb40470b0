package uplink

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

var testID = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "main"}

// startMochi runs the in-process broker on a free loopback port.
func startMochi(t testing.TB) string {
	t.Helper()
	return startMochiAt(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)))
}

// startMochiAt runs the in-process broker on addr, letting every client in,
// or with the given hook instead (which must then authenticate and allow).
func startMochiAt(t testing.TB, addr string, hook ...mochi.Hook) string {
	t.Helper()
	srv := mochi.New(&mochi.Options{InlineClient: true, Logger: slog.New(slog.DiscardHandler)})
	var h mochi.Hook = new(allowAll)
	if len(hook) > 0 {
		h = hook[0]
	}
	if err := srv.AddHook(h, nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { closeMochi(srv) })
	testenv.WaitForPort(t, addr, 5*time.Second)
	return "tcp://" + addr
}

// closeMochi closes the broker once it has seen its clients go. The
// clients' cleanups ran first (registered after the broker's), but a
// client that has just disconnected may still be leaving on the broker's
// side; mochi counts each connection in a WaitGroup that Close waits on,
// and a connection still counted then is a data race under -race (found in
// TestFullOutboxReportedInHeartbeat and TestInventoryRepublishedOnChange).
// Reading the connected count also orders every connection's start before
// Close. A client that never leaves (a test bug) holds Close back 5 s.
func closeMochi(srv *mochi.Server) {
	for deadline := time.Now().Add(5 * time.Second); atomic.LoadInt64(&srv.Info.ClientsConnected) > 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	srv.Close()
}

// allowAll lets every client in (mochi's own auth hook package would pull
// a YAML library into the module graph for nothing).
type allowAll struct{ mochi.HookBase }

func (*allowAll) ID() string { return "allow-all" }
func (*allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (*allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (*allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// agentGate lets every client in but the agent, which it refuses (as a
// broker refuses a wrong password) until the test opens it.
type agentGate struct {
	allowAll
	open atomic.Bool
}

func (g *agentGate) OnConnectAuthenticate(cl *mochi.Client, _ packets.Packet) bool {
	return g.open.Load() || !strings.HasPrefix(cl.ID, "storeagent-")
}

// hubMsg is one message the test hub received.
type hubMsg struct {
	topic    string
	payload  []byte
	retained bool
	channel  wire.Channel
	msg      wire.Message
}

// testHub subscribes to every storewatch topic like storehub would: a
// persistent session, so messages published while it reconnects after a
// broker restart wait for it.
type testHub struct {
	t    testing.TB
	c    mqtt.Client
	mu   sync.Mutex
	msgs []hubMsg
}

func newHub(t testing.TB, url string) *testHub {
	t.Helper()
	h := &testHub{t: t}
	o := mqtt.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("hub-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(200 * time.Millisecond).
		SetConnectRetry(true).SetConnectRetryInterval(100 * time.Millisecond).SetOrderMatters(true).SetResumeSubs(true)
	o.SetDefaultPublishHandler(h.on)
	o.SetOnConnectHandler(func(c mqtt.Client) { c.Subscribe(wire.TopicRoot+"/#", 1, h.on) })
	h.c = mqtt.NewClient(o)
	if tok := h.c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("hub connect: %v", tok.Error())
	}
	testenv.WaitFor(t, 10*time.Second, "hub subscription", func() bool {
		tok := h.c.Subscribe(wire.TopicRoot+"/#", 1, h.on)
		return tok.WaitTimeout(time.Second) && tok.Error() == nil
	})
	t.Cleanup(func() { h.c.Disconnect(100) })
	return h
}

func (h *testHub) on(_ mqtt.Client, m mqtt.Message) {
	hm := hubMsg{topic: m.Topic(), payload: append([]byte(nil), m.Payload()...), retained: m.Retained()}
	_, ch, err := wire.ParseTopic(m.Topic())
	if err != nil {
		h.t.Errorf("hub: %v", err)
		return
	}
	hm.channel = ch
	if len(hm.payload) > 0 && ch != wire.ChannelCmdReq { // requests are the test's own, some garbage on purpose
		if hm.msg, err = wire.DecodeChannel(ch, hm.payload); err != nil {
			h.t.Errorf("hub: %s: %v: %s", m.Topic(), err, hm.payload)
			return
		}
	}
	h.mu.Lock()
	h.msgs = append(h.msgs, hm)
	h.mu.Unlock()
}

func (h *testHub) all() []hubMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]hubMsg(nil), h.msgs...)
}

func (h *testHub) on_(ch wire.Channel) []hubMsg {
	var out []hubMsg
	for _, m := range h.all() {
		if m.channel == ch {
			out = append(out, m)
		}
	}
	return out
}

// events returns the events received, in arrival order.
func (h *testHub) events() []*wire.Event {
	var out []*wire.Event
	for _, m := range h.on_(wire.ChannelEvents) {
		out = append(out, m.msg.(*wire.Event))
	}
	return out
}

// outboxHeaders returns the headers of every message that came from the
// outbox (events and metrics), in arrival order.
func (h *testHub) outboxHeaders() []*wire.Header {
	var out []*wire.Header
	for _, m := range h.all() {
		if m.channel == wire.ChannelEvents || m.channel == wire.ChannelMetrics {
			out = append(out, m.msg.Head())
		}
	}
	return out
}

// heartbeats returns the heartbeats received, in arrival order.
func (h *testHub) heartbeats() []*wire.Metrics {
	var out []*wire.Metrics
	for _, m := range h.on_(wire.ChannelMetrics) {
		if mm := m.msg.(*wire.Metrics); mm.Heartbeat != nil {
			out = append(out, mm)
		}
	}
	return out
}

// lastStatus returns the last presence message received.
func (h *testHub) lastStatus() *wire.Status {
	ms := h.on_(wire.ChannelStatus)
	if len(ms) == 0 {
		return nil
	}
	return ms[len(ms)-1].msg.(*wire.Status)
}

// dedup is what storehub does with at-least-once delivery: the first copy of
// each (agent, seq) counts. It returns the first-seen sequence numbers in
// arrival order.
func dedup(hdrs []*wire.Header) []uint64 {
	seen := map[string]bool{}
	var out []uint64
	for _, h := range hdrs {
		k := fmt.Sprintf("%s#%d", h.AgentID, h.Seq)
		if !seen[k] {
			seen[k] = true
			out = append(out, h.Seq)
		}
	}
	return out
}

// gaps lists the numbers missing between the smallest and largest seq.
func gaps(seqs []uint64) []uint64 {
	s := append([]uint64(nil), seqs...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	var out []uint64
	for i := 1; i < len(s); i++ {
		for n := s[i-1] + 1; n < s[i]; n++ {
			out = append(out, n)
		}
	}
	return out
}

func testOptions(t testing.TB, urls ...string) Options {
	return Options{
		ID:             testID,
		Broker:         config.Broker{URLs: urls, KeepAlive: 5 * time.Second},
		Outbox:         config.Outbox{Path: filepath.Join(t.TempDir(), "outbox.db"), MaxBytes: 8 << 20, MaxAge: time.Hour},
		Version:        "test",
		Logger:         testLogger(t),
		ReconnectMin:   50 * time.Millisecond,
		ReconnectMax:   200 * time.Millisecond,
		ConnectTimeout: 3 * time.Second,
		PublishTimeout: 3 * time.Second,
		CommitInterval: 10 * time.Millisecond,
		HeartbeatEvery: time.Hour,
	}
}

func testLogger(t testing.TB) *slog.Logger {
	if os.Getenv("UPLINK_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

// run starts u.Run and stops it when the test ends.
func run(t testing.TB, u *Uplink) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { u.Run(ctx); close(done) }()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

func mustNew(t testing.TB, o Options) *Uplink {
	t.Helper()
	u, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { u.Close() })
	return u
}

// t0 is "now" for the test events: MaxAge eviction goes by header time.
var t0 = time.Now().UTC().Truncate(time.Second)

func testEvent(i int) wire.Event {
	return wire.Event{
		Header: wire.Header{Time: t0.Add(time.Duration(i) * time.Second)},
		Device: "receipt-lane3", Kind: "receipt_printer",
		State: wire.StateFault, Previous: wire.StateOK,
		Faults: []wire.Fault{wire.NewFault(wire.FaultPaperOut, "")},
		Since:  t0.Add(time.Duration(i)*time.Second - 2*time.Second),
		Reason: fmt.Sprintf("n%d", i),
	}
}

func eventHeaders(evs []*wire.Event) []*wire.Header {
	var out []*wire.Header
	for _, e := range evs {
		out = append(out, &e.Header)
	}
	return out
}

func configOutbox(path string) config.Outbox {
	return config.Outbox{Path: path, MaxBytes: 8 << 20, MaxAge: time.Hour}
}
