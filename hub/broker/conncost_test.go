package broker

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/storewatch/storewatch/wire"
)

// heldCommits is an ingest stand-in that decodes each message on the
// broker's goroutine, as ingest's check does, and commits nothing until
// release: the benchmark's agents all have a message waiting for its
// commit at once, as in a burst. With async it takes messages as the
// ingest pipeline does (AsyncHandler); without, Handle waits for the
// commit on the broker's goroutine.
type heldCommits struct {
	async   bool
	release chan struct{}
	mu      sync.Mutex
	arrived int
	done    []func(error)
}

func (h *heldCommits) take(payload []byte) error {
	if _, err := wire.DecodeChannel(wire.ChannelEvents, payload); err != nil {
		return err
	}
	h.mu.Lock()
	h.arrived++
	h.mu.Unlock()
	return nil
}

func (h *heldCommits) Handle(_ context.Context, _ string, payload []byte, _ string) error {
	if err := h.take(payload); err != nil {
		return err
	}
	<-h.release
	return nil
}

func (h *heldCommits) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.arrived
}

// commitAll commits every message held and any that comes after.
func (h *heldCommits) commitAll() {
	close(h.release)
	h.mu.Lock()
	done := h.done
	h.done = nil
	h.mu.Unlock()
	for _, d := range done {
		d(nil)
	}
}

// asyncHeld is heldCommits as an AsyncHandler.
type asyncHeld struct{ *heldCommits }

func (h asyncHeld) HandleAsync(_ context.Context, _ string, payload []byte, _ string, done func(error)) {
	if err := h.take(payload); err != nil {
		done(err)
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	select {
	case <-h.release:
		done(nil)
	default:
		h.done = append(h.done, done)
	}
}

// BenchmarkEmbeddedConnection measures what one connected agent costs the
// embedded broker: b.N agents log in (user and password, a retained will
// on their status topic), subscribe to their command topic and publish one
// event at QoS 1, which is held uncommitted until every agent has
// published (as in a burst, where every agent's message waits for the
// next commit); then it is committed and acknowledged, and the agents stay
// connected. The process's Go heap, goroutine stacks and RSS are read
// before, while every message is held (held-…) and after the
// acknowledgements (after two GCs each), and the difference per agent is
// reported. The agents are bare MQTT connections (no client library, no
// goroutine), so what they cost this process on the client side is a
// socket and a net.Conn. handler=async is how storehub runs (ingest's
// pipeline takes a message without waiting for its commit); handler=sync
// is a Handler that waits for it on mochi's goroutine. Run it with enough
// agents for the fixed costs to fade, e.g.
//
//	go test ./hub/broker -run '^$' -bench EmbeddedConnection -benchtime 2000x
func BenchmarkEmbeddedConnection(b *testing.B) {
	for _, async := range []bool{true, false} {
		name := map[bool]string{true: "handler=async", false: "handler=sync"}[async]
		b.Run(name, func(b *testing.B) {
			held := &heldCommits{async: async, release: make(chan struct{})}
			var handler Handler = held
			if async {
				handler = asyncHeld{held}
			}
			benchmarkConnections(b, handler, held)
		})
	}
}

func benchmarkConnections(b *testing.B, handler Handler, held *heldCommits) {
	h, err := HashPassword("pw", 1000)
	if err != nil {
		b.Fatal(err)
	}
	ids := make([]wire.AgentID, b.N)
	var list []Agent
	for i := range ids {
		ids[i] = wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%05d", i), Agent: "backoffice"}
		list = append(list, Agent{Tenant: ids[i].Tenant, Store: ids[i].Store, Agent: ids[i].Agent, PasswordHash: h})
	}
	e, err := StartEmbedded(EmbeddedOptions{Config: EmbeddedConfig{Listen: "127.0.0.1:0"}, Access: NewAccess(list), Handler: handler})
	if err != nil {
		b.Fatal(err)
	}
	defer e.Close()
	addr := e.Addrs()[0]

	before := memNow(b)
	b.ResetTimer()
	conns := make([]net.Conn, 0, b.N)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	for _, id := range ids {
		c, err := bareAgent(addr, id)
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
	}
	for deadline := time.Now().Add(time.Minute); held.count() < b.N; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d messages reached the handler", held.count(), b.N)
		}
	}
	b.StopTimer()
	during := memNow(b)
	held.commitAll()
	for i, c := range conns {
		if err := readPuback(c); err != nil {
			b.Fatalf("agent %s: %v", ids[i], err)
		}
	}
	after := memNow(b)
	per := func(x, y uint64) float64 { return (float64(y) - float64(x)) / float64(b.N) }
	b.ReportMetric(per(before.stack, during.stack), "held-stack-B/conn")
	b.ReportMetric(per(before.rss, during.rss), "held-rss-B/conn")
	b.ReportMetric(per(before.heap, after.heap), "heap-B/conn")
	b.ReportMetric(per(before.stack, after.stack), "stack-B/conn")
	b.ReportMetric(per(before.rss, after.rss), "rss-B/conn")
	b.ReportMetric(per(before.anon, after.anon), "anon-B/conn")
	b.ReportMetric(per(uint64(before.goroutines), uint64(after.goroutines)), "goroutines/conn")
}

type memReading struct {
	heap, stack, rss, anon uint64
	goroutines             int
}

func memNow(b *testing.B) memReading {
	for range 6 {
		runtime.GC()
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	r := memReading{heap: ms.HeapInuse, stack: ms.StackInuse, goroutines: runtime.NumGoroutine()}
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		b.Fatal(err)
	}
	sc := bufio.NewScanner(bytes.NewReader(status))
	for sc.Scan() {
		k, v, _ := strings.Cut(sc.Text(), ":")
		n, _ := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		switch k {
		case "VmRSS":
			r.rss = n << 10
		case "RssAnon":
			r.anon = n << 10
		}
	}
	return r
}

// bareAgent connects as id the way storeagent does (MQTT 3.1.1, retained
// will), subscribes to its command topic, waiting for each answer, and
// publishes one event, whose PUBACK readPuback reads.
func bareAgent(addr string, id wire.AgentID) (net.Conn, error) {
	c, err := mqttLogin(addr, id, "pw")
	if err != nil {
		return nil, err
	}
	fail := func(step string, err error) (net.Conn, error) {
		c.Close()
		return nil, fmt.Errorf("agent %s: %s: %w", id, step, err)
	}
	sp := packets.NewControlPacket(packets.Subscribe).(*packets.SubscribePacket)
	sp.MessageID, sp.Topics, sp.Qoss = 1, []string{id.Topic(wire.ChannelCmdReq)}, []byte{1}
	if err := sp.Write(c); err != nil {
		return fail("subscribe", err)
	}
	if _, err := packets.ReadPacket(c); err != nil {
		return fail("suback", err)
	}
	ev := wire.Event{Header: wire.Header{V: 1, Type: wire.TypeEvent, AgentID: id, Boot: "b1", Seq: 1, Time: time.Unix(1_700_000_000, 0).UTC()},
		Device: "receipt-1", Kind: "receipt_printer", State: wire.StateOK, Previous: wire.StateUnknown, Since: time.Unix(1_700_000_000, 0).UTC()}
	payload, err := wire.Encode(&ev)
	if err != nil {
		return fail("encode", err)
	}
	if err := publishQoS1(c, 2, id.Topic(wire.ChannelEvents), payload); err != nil {
		return fail("publish", err)
	}
	return c, nil
}

// readPuback reads an agent's PUBACK for its event and clears its deadline.
func readPuback(c net.Conn) error {
	if ack, err := packets.ReadPacket(c); err != nil {
		return fmt.Errorf("puback: %w", err)
	} else if _, ok := ack.(*packets.PubackPacket); !ok {
		return fmt.Errorf("puback: got %v", ack)
	}
	return c.SetDeadline(time.Time{})
}

// mqttLogin opens a bare MQTT 3.1.1 connection as agent id, with a
// retained will as storeagent has, and waits for the broker's CONNACK;
// the connection has a 30-second deadline.
func mqttLogin(addr string, id wire.AgentID, password string) (net.Conn, error) {
	c, err := net.DialTimeout("tcp", addr, 10*time.Second)
	if err != nil {
		return nil, err
	}
	_ = c.SetDeadline(time.Now().Add(30 * time.Second))
	fail := func(step string, err error) (net.Conn, error) {
		c.Close()
		return nil, fmt.Errorf("agent %s: %s: %w", id, step, err)
	}
	cp := packets.NewControlPacket(packets.Connect).(*packets.ConnectPacket)
	cp.ProtocolName, cp.ProtocolVersion = "MQTT", 4
	cp.ClientIdentifier = id.String()
	cp.Keepalive = 60
	cp.UsernameFlag, cp.Username = true, id.Tenant+"-"+id.Store+"-"+id.Agent
	cp.PasswordFlag, cp.Password = true, []byte(password)
	cp.WillFlag, cp.WillQos, cp.WillRetain = true, 1, true
	cp.WillTopic, cp.WillMessage = id.Topic(wire.ChannelStatus), []byte(`{"online":false}`)
	if err := cp.Write(c); err != nil {
		return fail("connect", err)
	}
	if ack, err := packets.ReadPacket(c); err != nil {
		return fail("connack", err)
	} else if ca, ok := ack.(*packets.ConnackPacket); !ok || ca.ReturnCode != 0 {
		return fail("connack", fmt.Errorf("refused: %v", ack))
	}
	return c, nil
}

// publishQoS1 writes a QoS 1 PUBLISH on a bare connection.
func publishQoS1(c net.Conn, id uint16, topic string, payload []byte) error {
	pp := packets.NewControlPacket(packets.Publish).(*packets.PublishPacket)
	pp.Qos, pp.MessageID, pp.TopicName, pp.Payload = 1, id, topic, payload
	return pp.Write(c)
}
