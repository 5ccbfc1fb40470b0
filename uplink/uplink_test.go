package uplink

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Events reach the hub once, in order, stamped with the agent id, this
// boot's id and consecutive sequence numbers; the birth is a retained
// "online" with the same boot, when it started and its start-up grace; the
// heartbeat reports the outbox.
func TestDeliversEventsWithBirthAndHeartbeat(t *testing.T) {
	url := startMochi(t)
	hub := newHub(t, url)
	o := testOptions(t, url)
	o.Grace = 45 * time.Second
	u := mustNew(t, o)
	run(t, u)
	// Events made while connected go out in order (ones made before the
	// connect would be backlog, and new ones overtake the backlog).
	testenv.WaitFor(t, 10*time.Second, "connected", func() bool { return u.Stats().Connected })
	ctx := context.Background()
	for i := range 20 {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	testenv.WaitFor(t, 10*time.Second, "20 events", func() bool { return len(hub.events()) >= 20 })
	evs := hub.events()
	for i, e := range evs {
		if e.AgentID != testID || e.Boot != u.Boot() || e.Reason != testEvent(i).Reason {
			t.Fatalf("event %d: %+v %s seq %d", i, e.Header, e.Reason, e.Seq)
		}
		if i > 0 && e.Seq <= evs[i-1].Seq {
			t.Fatalf("event %d has seq %d after %d", i, e.Seq, evs[i-1].Seq)
		}
	}
	// Events and heartbeats share one numbering: together, no gaps.
	if g := gaps(dedup(hub.outboxHeaders())); len(g) > 0 {
		t.Fatalf("sequence gaps: %v", g)
	}
	st := hub.lastStatus()
	if st == nil || st.State != wire.PresenceOnline || st.Boot != u.Boot() || st.Version != "test" ||
		!st.Started.Equal(u.Stats().Started) || st.Grace != 45 {
		t.Fatalf("birth: %+v", st)
	}
	testenv.WaitFor(t, 10*time.Second, "heartbeat", func() bool { return len(hub.heartbeats()) > 0 })
	if hb := hub.heartbeats()[0]; hb.Boot != u.Boot() || hb.Seq == 0 {
		t.Fatalf("heartbeat header: %+v", hb.Header)
	} else if hb.Heartbeat.RSSBytes == 0 || hb.Heartbeat.Goroutines == 0 {
		t.Fatalf("heartbeat without the process's own figures: %+v", hb.Heartbeat)
	}
	testenv.WaitFor(t, 10*time.Second, "outbox empty", func() bool {
		s := u.Stats().Outbox
		return s.Events == 0 && s.Telemetry == 0
	})
}

// A broker that accepts the TCP connection and never answers CONNECT: the
// agent is stopped in the middle of the attempt. When Run returns, the
// attempt is over and its connection closed; nothing goes on connecting in
// the background (an attempt that did once connected to a test's broker
// while it was closing, a data race inside the broker).
func TestRunLeavesNoConnectAttemptBehind(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- c
		}
	}()
	o := testOptions(t, "tcp://"+ln.Addr().String())
	o.ConnectTimeout = time.Hour // only stopping the agent ends this attempt
	u := mustNew(t, o)
	stop := run(t, u)
	var c net.Conn
	select {
	case c = <-accepted:
	case <-time.After(10 * time.Second):
		t.Fatal("the agent never dialled the broker")
	}
	defer c.Close()
	stop() // returns once Run has
	// The client's side is closed already; the read says so at once. The
	// deadline only keeps a regression from hanging the test for the hour.
	c.SetReadDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 4096)
	for {
		_, err := c.Read(buf) // the CONNECT packet, then the end
		if err == nil {
			continue
		}
		if errors.Is(err, os.ErrDeadlineExceeded) {
			t.Fatal("the connection attempt is still open after Run returned")
		}
		if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
			var ne *net.OpError
			if !errors.As(err, &ne) { // a reset is a close too
				t.Fatalf("read: %v", err)
			}
		}
		break
	}
}
