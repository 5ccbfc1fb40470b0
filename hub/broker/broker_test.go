package broker

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func TestPasswordHashes(t *testing.T) {
	// Made with Python's hashlib.pbkdf2_hmac("sha512", pw, salt, 20000), the
	// same computation mosquitto_passwd does.
	const known = "$7$20000$c3RvcmV3YXRjaC1l$G5ylMXfDRD7T/fW3Dr38QcQHgWLyUGRp2OywhuqJBB435ZoNNtJW/rhS6BrvWN98VjEtIRkoZlStWp6MY1/PCg=="
	if !VerifyPassword(known, "example-password-s0042") {
		t.Error("a known $7$ hash does not verify")
	}
	if VerifyPassword(known, "example-password-s0043") {
		t.Error("a wrong password verifies")
	}
	h, err := HashPassword("s3cret", 1000)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$7$1000$") || !VerifyPassword(h, "s3cret") || VerifyPassword(h, "s3cre") {
		t.Errorf("round trip of %q failed", h)
	}
	for _, bad := range []string{"", "secret", "$6$abc$def", "$7$x$AA==$AA==", "$7$1$%%$AA==", "$7$1$AA==$", "$7$99999999999$AA==$AA=="} {
		if VerifyPassword(bad, "") {
			t.Errorf("%q verified", bad)
		}
	}
}

func FuzzParseHash(f *testing.F) {
	f.Add("$7$20000$c3RvcmV3YXRjaC1l$G5ylMXfDRD7T")
	f.Add("$7$1$AA==$AA==")
	f.Fuzz(func(t *testing.T, s string) {
		it, salt, key, err := ParseHash(s)
		if err == nil && (it < 1 || len(salt) == 0 || len(key) == 0) {
			t.Fatalf("accepted %q with nothing in it", s)
		}
	})
}

var (
	s42 = wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "backoffice"}
	s43 = wire.AgentID{Tenant: "acme", Store: "s0043", Agent: "backoffice"}
)

func TestAgentsStayInTheirSubtree(t *testing.T) {
	cases := []struct {
		topic string
		pub   bool
		sub   bool
	}{
		{s42.Topic(wire.ChannelEvents), true, false},
		{s42.Topic(wire.ChannelStatus), true, false},
		{s42.Topic(wire.ChannelCmdRes), true, false},
		{s42.Topic(wire.ChannelCmdReq), false, true}, // the hub writes requests, the agent reads them
		{s43.Topic(wire.ChannelEvents), false, false},
		{s43.Topic(wire.ChannelCmdReq), false, false},
		{"storewatch/v1/acme/s0042/+/cmd/req", false, false},
		{"storewatch/v1/#", false, false},
		{"$SYS/broker/clients", false, false},
		{"storewatch/v1/acme/s0042/backoffice/events/extra", false, false},
	}
	for _, c := range cases {
		if got := MayPublish(s42, c.topic); got != c.pub {
			t.Errorf("publish %s: %v, want %v", c.topic, got, c.pub)
		}
		if got := MaySubscribe(s42, c.topic); got != c.sub {
			t.Errorf("subscribe %s: %v, want %v", c.topic, got, c.sub)
		}
	}
}

// recorder is an ingest stand-in that records what reached it.
type recorder struct {
	mu     sync.Mutex
	topics []string
	got    chan string
}

func newRecorder() *recorder { return &recorder{got: make(chan string, 100)} }

func (r *recorder) Handle(_ context.Context, topic string, payload []byte, _ string) error {
	r.mu.Lock()
	r.topics = append(r.topics, topic)
	r.mu.Unlock()
	r.got <- topic + " " + string(payload)
	return nil
}

func (r *recorder) wait(t *testing.T, want string) {
	t.Helper()
	select {
	case got := <-r.got:
		if !strings.HasPrefix(got, want) {
			t.Fatalf("ingest got %q, want %q", got, want)
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("ingest never got %q", want)
	}
}

func (r *recorder) seen(topic string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.topics {
		if x == topic {
			return true
		}
	}
	return false
}

func hash(t *testing.T, pw string) string {
	h, err := HashPassword(pw, 1000)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func agents(t *testing.T) []Agent {
	return []Agent{
		{Tenant: s42.Tenant, Store: s42.Store, Agent: s42.Agent, PasswordHash: hash(t, "pw-42")},
		{Tenant: s43.Tenant, Store: s43.Store, Agent: s43.Agent, Username: "s43", PasswordHash: hash(t, "pw-43")},
	}
}

func connect(t *testing.T, url, user, pw string, will *wire.AgentID) (paho.Client, error) {
	t.Helper()
	o := brokertest.Options{User: user, Password: pw}
	if will != nil {
		o.WillTopic, o.WillPayload = will.Topic(wire.ChannelStatus), []byte("offline")
	}
	return brokertest.Dial(t, url, o)
}

func publish(c paho.Client, topic, payload string) error {
	tok := c.Publish(topic, 1, false, payload)
	if !tok.WaitTimeout(5 * time.Second) {
		return fmt.Errorf("publish timed out")
	}
	return tok.Error()
}

func TestEmbeddedBrokerAdmitsOnlyAgentsInTheirSubtree(t *testing.T) {
	rec := newRecorder()
	m := NewMetrics(nil)
	e, err := StartEmbedded(EmbeddedOptions{Config: EmbeddedConfig{Listen: "127.0.0.1:0"}, Access: NewAccess(agents(t)), Handler: rec, Metrics: m})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	url := "tcp://" + e.Addrs()[0]

	if _, err := connect(t, url, "acme-s0042-backoffice", "wrong", nil); err == nil {
		t.Error("a wrong password was accepted")
	}
	if _, err := connect(t, url, "nobody", "pw-42", nil); err == nil {
		t.Error("an unknown user was accepted")
	}
	if _, err := connect(t, url, "acme-s0042-backoffice", "pw-42", &s43); err == nil {
		t.Error("a will on another store's topic was accepted")
	}
	c, err := connect(t, url, "acme-s0042-backoffice", "pw-42", &s42)
	if err != nil {
		t.Fatal(err)
	}
	if err := publish(c, s42.Topic(wire.ChannelEvents), "own"); err != nil {
		t.Fatal(err)
	}
	rec.wait(t, s42.Topic(wire.ChannelEvents)+" own")

	// Another store's subtree: the broker drops the connection and the
	// message never reaches ingest.
	_ = publish(c, s43.Topic(wire.ChannelEvents), "spoof")
	testenv.WaitFor(t, 10*time.Second, "the broker to drop the agent", func() bool { return !c.IsConnectionOpen() })
	if rec.seen(s43.Topic(wire.ChannelEvents)) {
		t.Fatal("a publish outside the agent's subtree reached ingest")
	}

	c2, err := connect(t, url, "s43", "pw-43", nil)
	if err != nil {
		t.Fatal(err)
	}
	tok := c2.Subscribe(s42.Topic(wire.ChannelCmdReq), 1, func(paho.Client, paho.Message) {})
	tok.WaitTimeout(5 * time.Second)
	if st, ok := tok.(*paho.SubscribeToken); !ok || st.Result()[s42.Topic(wire.ChannelCmdReq)] != 0x80 {
		t.Errorf("subscribing to another agent's cmd/req was not refused: %+v", tok)
	}
	tok = c2.Subscribe(s43.Topic(wire.ChannelCmdReq), 1, func(paho.Client, paho.Message) {})
	tok.WaitTimeout(5 * time.Second)
	if st := tok.(*paho.SubscribeToken); st.Result()[s43.Topic(wire.ChannelCmdReq)] != 1 {
		t.Errorf("an agent cannot subscribe to its own cmd/req: %v", st.Result())
	}
	if n := counterValue(m.AuthFailures); n != 2 {
		t.Errorf("auth failures counted: %v", n)
	}
}

// TestEmbeddedBrokerTakesMessagesLargerThanItsReadBuffer: a client's read
// buffer is 1 KiB; an inventory of a large store is far more, and must
// arrive whole.
func TestEmbeddedBrokerTakesMessagesLargerThanItsReadBuffer(t *testing.T) {
	rec := newRecorder()
	e, err := StartEmbedded(EmbeddedOptions{Config: EmbeddedConfig{Listen: "127.0.0.1:0"}, Access: NewAccess(agents(t)), Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := connect(t, "tcp://"+e.Addrs()[0], "acme-s0042-backoffice", "pw-42", nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{1000, 1024, 1025, 5000, 200_000} {
		body := strings.Repeat("x", n)
		if err := publish(c, s42.Topic(wire.ChannelInventory), body); err != nil {
			t.Fatal(err)
		}
		rec.wait(t, s42.Topic(wire.ChannelInventory)+" "+body)
	}
}

// The embedded broker keeps none of an agent's messages as retained
// (the hub has taken them; nobody else may read them there), and still
// hands an agent the configuration the hub retained for it at its
// subscription, however long ago the hub published it.
func TestEmbeddedBrokerRetainsOnlyWhatTheHubRetains(t *testing.T) {
	rec := newRecorder()
	e, err := StartEmbedded(EmbeddedOptions{Config: EmbeddedConfig{Listen: "127.0.0.1:0"}, Access: NewAccess(agents(t)), Handler: rec})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	url := "tcp://" + e.Addrs()[0]
	c, err := connect(t, url, "acme-s0042-backoffice", "pw-42", &s42)
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range []wire.Channel{wire.ChannelStatus, wire.ChannelInventory} {
		tok := c.Publish(s42.Topic(ch), 1, true, "retained by the agent")
		if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish on %s: %v", ch, tok.Error())
		}
		rec.wait(t, s42.Topic(ch)+" retained by the agent")
	}
	// Its retained will goes to the hub when it drops off (here: the
	// broker drops it for a publish outside its subtree).
	_ = publish(c, s43.Topic(wire.ChannelEvents), "spoof")
	rec.wait(t, s42.Topic(wire.ChannelStatus)+" offline")
	for topic := range e.srv.Topics.Retained.GetAll() {
		if strings.HasPrefix(topic, wire.TopicRoot+"/") {
			t.Errorf("the broker retains the agent's %s", topic)
		}
	}

	if err := e.PublishRetained(s42.Topic(wire.ChannelConfig), []byte("the hub's configuration")); err != nil {
		t.Fatal(err)
	}
	// A week later it is still there: make it look a week old and let
	// the broker's once-a-second sweep of expired messages run.
	topic := s42.Topic(wire.ChannelConfig)
	pk, ok := e.srv.Topics.Retained.Get(topic)
	if !ok {
		t.Fatal("the hub's configuration is not retained")
	}
	pk.Created -= 7 * 24 * 3600
	e.srv.Topics.Retained.Add(topic, pk)
	time.Sleep(2500 * time.Millisecond)
	c, err = connect(t, url, "acme-s0042-backoffice", "pw-42", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	tok := c.Subscribe(s42.Topic(wire.ChannelConfig), 1, func(_ paho.Client, m paho.Message) { got <- string(m.Payload()) })
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("subscribe: %v", tok.Error())
	}
	select {
	case p := <-got:
		if p != "the hub's configuration" {
			t.Errorf("the agent got %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Error("the agent did not get the configuration the hub retained")
	}
}

// committer is an AsyncHandler whose test decides when, and whether, each
// message is committed.
type committer struct{ got chan handedOver }

type handedOver struct {
	topic, payload string
	done           func(error)
}

func (c *committer) Handle(context.Context, string, []byte, string) error {
	panic("the embedded broker waits for a commit with an AsyncHandler")
}

func (c *committer) HandleAsync(_ context.Context, topic string, payload []byte, _ string, done func(error)) {
	c.got <- handedOver{topic, string(payload), done}
}

// agentOfCommitter starts an embedded broker whose handler is a
// committer and logs agent s42 in to it with a bare connection; both end
// with the test.
func agentOfCommitter(t *testing.T) (*committer, net.Conn) {
	t.Helper()
	h := &committer{got: make(chan handedOver, 10)}
	e, err := StartEmbedded(EmbeddedOptions{Config: EmbeddedConfig{Listen: "127.0.0.1:0"}, Access: NewAccess(agents(t)), Handler: h})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	c, err := mqttLogin(e.Addrs()[0], s42, "pw-42")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return h, c
}

// TestEmbeddedAcknowledgesEachMessageOnceCommittedInArrivalOrder: with a
// handler that takes messages without waiting for their commit (ingest's
// pipeline), an agent's PUBACK comes only once its message is committed,
// in the order the messages arrived whatever the order of the commits,
// and never for one that could not be committed (the agent sends it
// again).
func TestEmbeddedAcknowledgesEachMessageOnceCommittedInArrivalOrder(t *testing.T) {
	h, c := agentOfCommitter(t)
	var held []handedOver
	for id := uint16(1); id <= 3; id++ {
		if err := publishQoS1(c, id, s42.Topic(wire.ChannelEvents), []byte(fmt.Sprintf("m%d", id))); err != nil {
			t.Fatal(err)
		}
		select {
		case m := <-h.got:
			held = append(held, m)
		case <-time.After(10 * time.Second):
			t.Fatalf("message %d never reached the handler", id)
		}
	}
	if held[0].payload != "m1" || held[2].payload != "m3" {
		t.Fatalf("handed over %+v, want m1, m2, m3", held)
	}
	// Nothing committed, nothing acknowledged; then the last one committed
	// first, the second not at all, the first last.
	noPacket(t, c, "before any commit")
	held[2].done(nil)
	noPacket(t, c, "with only m3 committed")
	held[1].done(errors.New("store failed"))
	noPacket(t, c, "with m2 failed and m1 not committed")
	held[0].done(nil)
	for _, want := range []uint16{1, 3} {
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		p, err := packets.ReadPacket(c)
		if err != nil {
			t.Fatalf("waiting for the PUBACK of message %d: %v", want, err)
		}
		if ack, ok := p.(*packets.PubackPacket); !ok || ack.MessageID != want {
			t.Fatalf("got %v, want the PUBACK of message %d", p, want)
		}
	}
	noPacket(t, c, "after m1 and m3 were acknowledged (m2 was not committed)")
}

// noPacket fails the test if the broker sends c anything within a short
// while (it can only miss a packet sent later, never fail wrongly).
func noPacket(t *testing.T, c net.Conn, when string) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	p, err := packets.ReadPacket(c)
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return
	}
	t.Fatalf("%s: the broker sent %v (err %v), want nothing", when, p, err)
}

// TestEmbeddedHandsAWillOverAfterTheAgentsMessages: an agent's will (its
// offline status) reaches ingest behind the messages the agent sent
// before its connection died, not ahead of those not yet committed.
func TestEmbeddedHandsAWillOverAfterTheAgentsMessages(t *testing.T) {
	h, c := agentOfCommitter(t)
	if err := publishQoS1(c, 1, s42.Topic(wire.ChannelEvents), []byte("last event")); err != nil {
		t.Fatal(err)
	}
	c.Close() // no DISCONNECT: the broker publishes the will
	var topics []string
	for range 2 {
		select {
		case m := <-h.got:
			topics = append(topics, m.topic)
			m.done(nil)
		case <-time.After(10 * time.Second):
			t.Fatalf("handed over %v, then nothing; want the event, then the will", topics)
		}
	}
	if want := []string{s42.Topic(wire.ChannelEvents), s42.Topic(wire.ChannelStatus)}; !slices.Equal(topics, want) {
		t.Fatalf("handed over %v, want %v", topics, want)
	}
}
