package uplink

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

var crashRuns = flag.Int("crash.runs", 50, "how many times the crash test kills the agent")

// The agent records events while the broker is down and is killed with
// SIGKILL at random points, crash.runs times; then it drains, and is killed
// a few more times while draining. Every event it reported persisted
// reaches the broker; after the hub's dedup by (agent, seq) the events come
// in sequence order and the numbers have no gap. The file always opens.
func TestCrashLosesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("long: kills the agent many times")
	}
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	hub := newHub(t, m.URL)
	m.Stop() // the outage: the agent only buffers
	path := outboxPath(t)
	rng := rand.New(rand.NewPCG(uint64(time.Now().UnixNano()), 1))
	t.Logf("crash runs: %d", *crashRuns)
	var persisted []string
	for r := range *crashRuns {
		c := startChild(t, path, m.URL, "r"+itoa(r), 1000)
		c.waitBoot(t)
		// The kill point: somewhere in the first quarter second of writing.
		time.Sleep(time.Duration(rng.IntN(250)) * time.Millisecond)
		c.p.Signal(syscall.SIGKILL)
		c.p.Kill()
		persisted = append(persisted, c.persisted()...)
		if _, err := InspectOutbox(path, time.Second); err != nil {
			t.Fatalf("run %d: outbox does not open after SIGKILL: %v", r, err)
		}
	}
	if len(persisted) == 0 {
		t.Fatal("no child persisted anything")
	}
	// The broker is back: kill the agent a few times while it drains.
	m.Start()
	for r := range 3 {
		c := startChild(t, path, m.URL, "drain"+itoa(r), 0)
		c.waitBoot(t)
		testenv.WaitFor(t, 20*time.Second, "some events drained", func() bool { return len(hub.events()) > r*50 })
		c.p.Signal(syscall.SIGKILL)
		c.p.Kill()
	}
	// And a last agent drains the rest.
	o := testOptions(t, m.URL)
	o.Outbox.Path, o.Outbox.MaxAge, o.BacklogRate = path, 24*time.Hour, -1
	u := mustNew(t, o)
	run(t, u)
	testenv.WaitFor(t, 60*time.Second, "outbox drained", func() bool {
		s := u.Stats().Outbox
		return s.Events == 0 && s.Telemetry == 0
	})
	want := map[string]bool{}
	for _, p := range persisted {
		want[p] = true
	}
	testenv.WaitFor(t, 30*time.Second, "every persisted event at the hub", func() bool {
		got := map[string]bool{}
		for _, e := range hub.events() {
			got[e.Reason] = true
		}
		for p := range want {
			if !got[p] {
				return false
			}
		}
		return true
	})
	evs := hub.events()
	first := dedup(eventHeaders(evs))
	if !slices.IsSorted(first) {
		t.Fatalf("events reached the hub out of sequence order (after dedup)")
	}
	if g := gaps(dedup(hub.outboxHeaders())); len(g) > 0 {
		t.Fatalf("hub sees %d sequence gaps: %v", len(g), g[:min(len(g), 20)])
	}
	if d := u.Stats().Outbox.Dropped; d["event"] != 0 {
		t.Fatalf("events dropped: %v", d)
	}
	t.Logf("%d events persisted by killed agents, %d deliveries, %d distinct", len(want), len(evs), len(first))
}

func itoa(i int) string { return fmt.Sprintf("%03d", i) }

// A broker outage: events keep being recorded; when the broker is back,
// events made after the reconnect overtake the backlog, and nothing is lost.
func TestOutageLiveEventsFirst(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	hub := newHub(t, m.URL)
	o := testOptions(t, m.URL)
	o.BacklogBatch, o.BacklogRate = 2, 10 // a slow drain, so live events can overtake it
	u := mustNew(t, o)
	run(t, u)
	ctx := context.Background()
	ev := func(reason string) {
		e := testEvent(0)
		e.Reason = reason
		if err := u.Event(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	ev("before")
	testenv.WaitFor(t, 10*time.Second, "first event", func() bool { return len(hub.events()) == 1 })

	m.Stop()
	testenv.WaitFor(t, 10*time.Second, "agent notices the outage", func() bool { return !u.Stats().Connected })
	for i := range 30 {
		ev("backlog-" + itoa(i))
	}
	if s := u.Stats().Outbox; s.Events != 30 {
		t.Fatalf("buffered %d events, want 30", s.Events)
	}
	m.Start()
	testenv.WaitFor(t, 20*time.Second, "backlog starts draining", func() bool {
		for _, e := range hub.events() {
			if strings.HasPrefix(e.Reason, "backlog-") {
				return true
			}
		}
		return false
	})
	for i := range 5 {
		ev("live-" + itoa(i))
	}
	testenv.WaitFor(t, 30*time.Second, "all 36 events", func() bool { return len(dedup(eventHeaders(hub.events()))) >= 36 })
	var order []string
	seen := map[uint64]bool{}
	for _, e := range hub.events() {
		if !seen[e.Seq] {
			seen[e.Seq] = true
			order = append(order, e.Reason)
		}
	}
	lastLive := slices.IndexFunc(order, func(s string) bool { return s == "live-004" })
	lastBacklog := slices.Index(order, "backlog-029")
	if lastLive > lastBacklog {
		t.Fatalf("live events did not overtake the backlog: %v", order)
	}
	if g := gaps(dedup(hub.outboxHeaders())); len(g) > 0 {
		t.Fatalf("gaps: %v", g)
	}
	if u.Stats().Reconnects == 0 {
		t.Fatalf("no reconnect counted")
	}
}

// Heartbeats are recorded while the broker is away, and one more at the
// connect. The hub gets the latter first (new records go before the
// backlog), saying how much waits and for how long; the heartbeats from the
// outage follow with the backlog.
func TestHeartbeatsWhileOffline(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	hub := newHub(t, m.URL) // a persistent session: it gets what is sent while it reconnects
	m.Stop()
	o := testOptions(t, m.URL)
	o.HeartbeatEvery = 20 * time.Millisecond
	u := mustNew(t, o)
	run(t, u)
	testenv.WaitFor(t, 10*time.Second, "heartbeats recorded offline", func() bool { return u.Stats().Outbox.Telemetry >= 3 })
	m.Start()
	// Made before the first one the hub got, so from the outage.
	older := func(hbs []*wire.Metrics) int {
		n := 0
		for _, hb := range hbs {
			if hb.Seq < hbs[0].Seq {
				n++
			}
		}
		return n
	}
	testenv.WaitFor(t, 20*time.Second, "the outage's heartbeats after the connect's", func() bool {
		hbs := hub.heartbeats()
		return len(hbs) > 0 && older(hbs) >= 3
	})
	if hb := hub.heartbeats()[0].Heartbeat; hb.OutboxDepth < 3 || hb.OldestAge <= 0 || hb.RSSBytes == 0 || hb.Goroutines == 0 {
		t.Fatalf("first heartbeat after the outage: %+v", hb)
	}
}

// The will marks a dead agent offline (retained, with its boot id); the
// next start's birth marks it online again.
func TestWillAndBirth(t *testing.T) {
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	hub := newHub(t, m.URL)
	path := outboxPath(t)
	c := startChild(t, path, m.URL, "w", 0)
	boot := c.waitBoot(t)
	testenv.WaitFor(t, 10*time.Second, "birth", func() bool {
		s := hub.lastStatus()
		return s != nil && s.Boot == boot && s.State == wire.PresenceOnline
	})
	c.p.Signal(syscall.SIGKILL)
	c.p.Kill()
	testenv.WaitFor(t, 10*time.Second, "will", func() bool {
		s := hub.lastStatus()
		return s != nil && s.Boot == boot && s.State == wire.PresenceOffline
	})
	// A hub that subscribes later sees the retained offline state.
	late := newHub(t, m.URL)
	testenv.WaitFor(t, 10*time.Second, "retained offline", func() bool {
		s := late.lastStatus()
		return s != nil && s.Boot == boot && s.State == wire.PresenceOffline
	})
	c2 := startChild(t, path, m.URL, "w2", 0)
	boot2 := c2.waitBoot(t)
	if boot2 == boot {
		t.Fatal("same boot id twice")
	}
	testenv.WaitFor(t, 10*time.Second, "birth again", func() bool {
		s := hub.lastStatus()
		return s != nil && s.Boot == boot2 && s.State == wire.PresenceOnline
	})
}

// TLS against mosquitto with a CA, server and client certificates made by
// the test: the right setup works; a wrong CA, an expired certificate or a
// wrong password is refused with a sentence a technician understands, while
// the agent keeps buffering.
func TestTLSAndAuthErrors(t *testing.T) {
	const user, pass = "acme-s0042", "s3cret"
	m := testenv.StartMosquitto(t, testenv.MosquittoOptions{TLS: true, RequireClientCert: true, Users: map[string]string{user: pass}})
	cert, key := m.PKI.Issue(t, user, testenv.CertOptions{})
	oldCert, oldKey := m.PKI.Issue(t, user+"-old", testenv.CertOptions{NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-24 * time.Hour)})
	other := testenv.NewPKI(t, "other")
	good := config.Broker{URLs: []string{m.TLSURL}, Username: user, Password: pass, CAFile: m.PKI.CAFile, CertFile: cert, KeyFile: key}

	cases := []struct {
		name   string
		broker func(b config.Broker) config.Broker
		want   string // in Stats().LastError; empty: connects
	}{
		{"works", func(b config.Broker) config.Broker { return b }, ""},
		{"wrong CA", func(b config.Broker) config.Broker { b.CAFile = other.CAFile; return b },
			"certificate is not signed by the CA in " + other.CAFile},
		{"expired client certificate", func(b config.Broker) config.Broker { b.CertFile, b.KeyFile = oldCert, oldKey; return b },
			"refused the client certificate " + oldCert + ": it expired on " + time.Now().Add(-24*time.Hour).UTC().Format(time.DateOnly)},
		{"wrong password", func(b config.Broker) config.Broker { b.Password = "nope"; return b },
			"broker 127.0.0.1"},
		{"no client certificate", func(b config.Broker) config.Broker { b.CertFile, b.KeyFile = "", ""; return b },
			"wants a client certificate"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := testOptions(t)
			o.Broker = tc.broker(good)
			o.Broker.KeepAlive = 5 * time.Second
			u := mustNew(t, o)
			run(t, u)
			if err := u.Event(context.Background(), testEvent(1)); err != nil {
				t.Fatal(err)
			}
			if tc.want == "" {
				testenv.WaitFor(t, 10*time.Second, "delivered over TLS", func() bool { return u.Stats().Outbox.Events == 0 })
				return
			}
			testenv.WaitFor(t, 10*time.Second, "a connection error", func() bool { return u.Stats().LastError != "" })
			st := u.Stats()
			if !strings.Contains(st.LastError, tc.want) {
				t.Fatalf("error %q\ndoes not say %q", st.LastError, tc.want)
			}
			if tc.name == "wrong password" && !strings.Contains(st.LastError, "refused the password for user "+user) {
				t.Fatalf("error %q does not name the user", st.LastError)
			}
			// Still buffering.
			if err := u.Event(context.Background(), testEvent(2)); err != nil {
				t.Fatal(err)
			}
			if st := u.Stats(); st.Outbox.Events != 2 || st.Connected {
				t.Fatalf("not buffering: %+v", st)
			}
			t.Logf("technician sees: %s", st.LastError)
		})
	}
}
