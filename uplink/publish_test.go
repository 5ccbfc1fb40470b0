package uplink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// fakeSession is a connection that can be lost at a chosen publish. On such
// a session outbox messages complete, successfully, only when the
// connection is lost, like paho's tokens can: success that proves nothing.
// With manual set they complete when the test releases them, in order;
// otherwise at once. Other messages (birth, inventory) complete at once.
type fakeSession struct {
	loseAt int // lose the connection when this many messages went out; 0: never
	manual bool
	mu     sync.Mutex
	sent   []string
	status [][]byte // payloads published on the status topic
	// outbox messages of a manual session (topics and deliveries), and the
	// most ever awaiting release
	outbox      []string
	pending     []chan struct{}
	released    int
	maxInFlight int
	lost        chan struct{}
	once        sync.Once
}

func newFakeSession(loseAt int) *fakeSession {
	return &fakeSession{loseAt: loseAt, lost: make(chan struct{})}
}

func (s *fakeSession) Publish(topic string, _ bool, payload []byte) delivery {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sent = append(s.sent, topic)
	if topic == testID.Topic(wire.ChannelStatus) {
		s.status = append(s.status, payload)
	}
	if s.loseAt > 0 && len(s.sent) >= s.loseAt {
		s.once.Do(func() { close(s.lost) })
	}
	if topic != testID.Topic(wire.ChannelEvents) && topic != testID.Topic(wire.ChannelMetrics) {
		return fakeDelivery{done: closedChan}
	}
	switch {
	case s.loseAt > 0:
		return fakeDelivery{done: s.lost} // "succeeds" only once lost, proving nothing
	case s.manual:
		c := make(chan struct{})
		s.outbox, s.pending = append(s.outbox, topic), append(s.pending, c)
		s.maxInFlight = max(s.maxInFlight, len(s.pending)-s.released)
		return fakeDelivery{done: c}
	}
	return fakeDelivery{done: closedChan}
}
func (s *fakeSession) Subscribe(context.Context, string, func([]byte)) error { return nil }
func (s *fakeSession) Lost() <-chan struct{}                                 { return s.lost }
func (s *fakeSession) Close()                                                { s.once.Do(func() { close(s.lost) }) }

// release completes the next n outbox messages of a manual session.
func (s *fakeSession) release(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		close(s.pending[s.released])
		s.released++
	}
}

// count returns how many messages went out on topic, and how many outbox
// messages are awaiting release.
func (s *fakeSession) count(topic string) (sent, waiting int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.sent {
		if t == topic {
			sent++
		}
	}
	return sent, len(s.pending) - s.released
}

// fakeDelivery completes without error when done is closed.
type fakeDelivery struct{ done <-chan struct{} }

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (d fakeDelivery) Wait(ctx context.Context) error {
	select {
	case <-d.done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
func (d fakeDelivery) Done() <-chan struct{} { return d.done }
func (fakeDelivery) Err() error              { return nil }

type fakeDialer struct {
	mu       sync.Mutex
	sessions []*fakeSession
	wills    [][]byte // the will of every attempt
}

func (d *fakeDialer) Dial(ctx context.Context, _ string, w will) (session, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.wills = append(d.wills, w.payload)
	if len(d.sessions) == 0 {
		return nil, fmt.Errorf("no more fake connections")
	}
	s := d.sessions[0]
	d.sessions = d.sessions[1:]
	return s, nil
}

// A "successful" publish on a connection that was lost before the batch's
// acknowledgements were in is not an acknowledgement: the records stay in
// the outbox and go out again on the next connection.
func TestSuccessAcrossConnectionLossIsNotAnAck(t *testing.T) {
	lossy := newFakeSession(5) // lost while the first batch is in flight
	good := newFakeSession(0)
	o := testOptions(t, "tcp://fake:1883")
	o.dialer = &fakeDialer{sessions: []*fakeSession{lossy, good}}
	o.LiveBatch = 100
	u := mustNew(t, o)
	ctx := context.Background()
	for i := range 10 {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "second connection", func() bool {
		good.mu.Lock()
		defer good.mu.Unlock()
		return len(good.sent) > 0
	})
	testenv.WaitFor(t, 10*time.Second, "drained on the good connection", func() bool { return u.Stats().Outbox.Events == 0 })
	if lost, _ := lossy.count(testID.Topic(wire.ChannelEvents)); lost == 0 {
		t.Fatal("the lossy connection carried no event: the test proves nothing")
	}
	if events, _ := good.count(testID.Topic(wire.ChannelEvents)); events != 10 {
		t.Fatalf("the good connection carried %d events; all 10 must go again after the loss", events)
	}
}

// The publisher keeps at most InFlight messages awaiting their PUBACK and
// sends the next one as soon as one is acknowledged, not when a whole batch
// is. Records acknowledged before a connection loss are deleted and do not
// go again; those in flight at the loss do, on the next connection.
func TestWindowOfMessagesInFlight(t *testing.T) {
	const window, n = 4, 12
	first := &fakeSession{manual: true, lost: make(chan struct{})}
	second := newFakeSession(0)
	o := testOptions(t, "tcp://fake:1883")
	o.dialer = &fakeDialer{sessions: []*fakeSession{first, second}}
	o.InFlight = window
	u := mustNew(t, o)
	ctx := context.Background()
	for i := range n {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	run(t, u)
	sentIs := func(want int) func() bool {
		return func() bool {
			first.mu.Lock()
			defer first.mu.Unlock()
			return len(first.outbox) == want
		}
	}
	testenv.WaitFor(t, 10*time.Second, "a full window", sentIs(window))
	// One PUBACK lets exactly one more message out.
	first.release(1)
	testenv.WaitFor(t, 10*time.Second, "the next message", sentIs(window+1))
	first.release(2)
	testenv.WaitFor(t, 10*time.Second, "two more", sentIs(window+3))
	// Three acknowledged (the connect's heartbeat goes first, then events),
	// four in flight: the connection dies.
	first.Close()
	testenv.WaitFor(t, 10*time.Second, "drained on the second connection", func() bool { return u.Stats().Outbox.Events == 0 })
	if first.maxInFlight != window {
		t.Fatalf("%d messages were in flight at once, window %d", first.maxInFlight, window)
	}
	events := testID.Topic(wire.ChannelEvents)
	acked := 0
	for _, topic := range first.outbox[:3] {
		if topic == events {
			acked++
		}
	}
	if again, _ := second.count(events); again != n-acked {
		t.Fatalf("the second connection carried %d events, want the %d not acknowledged on the first", again, n-acked)
	}
}

// Remote queries: a valid request reaches the handler and its answer comes
// back on cmd/res; an expired one is refused, and so is one whose header
// names another agent; without a handler the agent says remote queries are
// off; garbage gets no answer and does not stop the workers.
func TestCommandChannel(t *testing.T) {
	url := startMochi(t)
	hub := newHub(t, url)
	u := mustNew(t, testOptions(t, url))
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "connected", func() bool { return u.Stats().Connected })
	send := func(id string, expires time.Time) {
		agent := testID
		if id == "q4" {
			agent.Agent = "other"
		}
		req := wire.CommandRequest{Header: wire.Header{AgentID: agent, Time: time.Now()}, ID: id, Device: "receipt-lane3", Op: "status", Requester: "alice", Expires: expires}
		b, err := wire.Encode(&req)
		if err != nil {
			t.Fatal(err)
		}
		if tok := hub.c.Publish(testID.Topic(wire.ChannelCmdReq), 1, false, b); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	response := func(id string) *wire.CommandResponse {
		var r *wire.CommandResponse
		testenv.WaitFor(t, 10*time.Second, "answer to "+id, func() bool {
			for _, m := range hub.on_(wire.ChannelCmdRes) {
				if res := m.msg.(*wire.CommandResponse); res.ID == id {
					r = res
					return true
				}
			}
			return false
		})
		return r
	}
	send("q1", time.Now().Add(time.Minute))
	if r := response("q1"); r.OK || r.Code != "denied" {
		t.Fatalf("without a handler: %+v", r)
	}
	u.SetCommandHandler(CommandHandlerFunc(func(ctx context.Context, req *wire.CommandRequest) *wire.CommandResponse {
		if _, ok := ctx.Deadline(); !ok {
			return &wire.CommandResponse{Error: "no deadline"}
		}
		return &wire.CommandResponse{OK: true, Result: []byte(`{"state":"ok"}`)}
	}))
	hub.c.Publish(testID.Topic(wire.ChannelCmdReq), 1, false, []byte(`{"v":1,"type":"cmd_req","garbage":true}`)).Wait()
	send("q2", time.Now().Add(time.Minute))
	if r := response("q2"); !r.OK || string(r.Result) != `{"state":"ok"}` || r.Device != "receipt-lane3" || r.Op != "status" || r.Boot != u.Boot() {
		t.Fatalf("answer: %+v", r)
	}
	send("q3", time.Now().Add(-time.Second))
	if r := response("q3"); r.OK || r.Code != "expired" {
		t.Fatalf("expired request: %+v", r)
	}
	// On this agent's topic but addressed to another agent: never run.
	send("q4", time.Now().Add(time.Minute))
	if r := response("q4"); r.OK || r.Code != "denied" || !strings.Contains(r.Error, "acme/s0042/other") {
		t.Fatalf("request for another agent: %+v", r)
	}
}

// The retained inventory goes out on connect and again when it changes.
func TestInventoryRepublishedOnChange(t *testing.T) {
	url := startMochi(t)
	hub := newHub(t, url)
	u := mustNew(t, testOptions(t, url))
	inv := wire.Inventory{StoreInfo: wire.StoreInfo{TimeZone: "Europe/Berlin"}, Devices: []wire.DeviceInfo{{ID: "receipt-lane3", Kind: "receipt_printer", Driver: "escpos"}}}
	if err := u.SetInventory(inv); err != nil {
		t.Fatal(err)
	}
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "inventory", func() bool { return len(hub.on_(wire.ChannelInventory)) == 1 })
	if err := u.SetInventory(inv); err != nil { // unchanged: not sent again
		t.Fatal(err)
	}
	inv.Devices = append(inv.Devices, wire.DeviceInfo{ID: "scale-1", Kind: "scale", Driver: "sics"})
	if err := u.SetInventory(inv); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 10*time.Second, "changed inventory", func() bool { return len(hub.on_(wire.ChannelInventory)) >= 2 })
	ms := hub.on_(wire.ChannelInventory)
	if got := ms[len(ms)-1].msg.(*wire.Inventory); len(got.Devices) != 2 || got.AgentVersion != "test" {
		t.Fatalf("inventory: %+v", got)
	}
	if len(ms) != 2 {
		t.Fatalf("%d inventories sent, want 2", len(ms))
	}
}

// A full outbox while the broker is away: telemetry is evicted, events are
// not, and the first heartbeat after the reconnect reports the drops.
func TestFullOutboxReportedInHeartbeat(t *testing.T) {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	o := testOptions(t, "tcp://"+addr)
	o.Outbox.MaxBytes = 256 << 10
	u := mustNew(t, o)
	stop := run(t, u)
	ctx := context.Background()
	for i := range 10 {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 200 {
		var ss []wire.Sample
		for j := range 20 {
			ss = append(ss, wire.Sample{Device: "host", Name: fmt.Sprintf("disk_free_percent:/mnt/%d", j), Value: float64(i), Time: time.Now()})
		}
		if err := u.Samples(ctx, ss); err != nil {
			t.Fatal(err)
		}
	}
	st := u.Stats().Outbox
	if st.Dropped["telemetry"] == 0 || st.Dropped["event"] != 0 || st.Events != 10 {
		t.Fatalf("outbox: %+v", st)
	}
	// The broker comes, but lets the agent in only once the test's hub
	// listens: what the agent sends first is the point of the test, and
	// the hub must not subscribe after it went by.
	g := &agentGate{}
	url := startMochiAt(t, addr, g)
	// Cleanups run last-registered first: the agent must stop before the
	// broker it started ahead of closes, or it reconnects into the close.
	t.Cleanup(stop)
	hub := newHub(t, url)
	g.open.Store(true)
	testenv.WaitFor(t, 20*time.Second, "heartbeat with drops and all events", func() bool {
		hbs := hub.heartbeats()
		return len(hbs) > 0 && len(dedup(eventHeaders(hub.events()))) == 10
	})
	hb := hub.heartbeats()[0].Heartbeat
	if hb.Dropped["telemetry"] == 0 || hb.Dropped["event"] != 0 {
		t.Fatalf("heartbeat drops: %v", hb.Dropped)
	}
}

// Every connection gets a number within the boot, in its will and in its
// birth, so the hub can drop the will of a connection the agent already
// replaced (a broker publishes it at the takeover, possibly after the new
// birth).
func TestBirthAndWillNumberTheConnection(t *testing.T) {
	first := newFakeSession(1) // lost right after its birth
	second := newFakeSession(0)
	d := &fakeDialer{sessions: []*fakeSession{first, second}}
	o := testOptions(t, "tcp://fake:1883")
	o.dialer = d
	u := mustNew(t, o)
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "the second connection's birth", func() bool {
		second.mu.Lock()
		defer second.mu.Unlock()
		return len(second.status) > 0
	})
	decode := func(b []byte) *wire.Status {
		t.Helper()
		st, err := wire.Decode[wire.Status](b)
		if err != nil {
			t.Fatal(err)
		}
		return st
	}
	d.mu.Lock()
	wills := d.wills
	d.mu.Unlock()
	if len(wills) < 2 {
		t.Fatalf("%d connection attempts, want at least 2", len(wills))
	}
	births := []*wire.Status{decode(first.status[0]), decode(second.status[0])}
	for i, b := range births {
		w := decode(wills[i])
		if w.State != wire.PresenceOffline || b.State != wire.PresenceOnline {
			t.Fatalf("connection %d: will %q, birth %q", i+1, w.State, b.State)
		}
		if w.Conn != uint64(i+1) || b.Conn != w.Conn {
			t.Errorf("connection %d: will conn %d, birth conn %d; want both %d", i+1, w.Conn, b.Conn, i+1)
		}
		if b.Boot != u.Stats().Boot || w.Boot != b.Boot {
			t.Errorf("connection %d: boots %q and %q, want %q", i+1, w.Boot, b.Boot, u.Stats().Boot)
		}
	}
}
