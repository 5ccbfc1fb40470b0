package uplink

import (
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Events reach the hub once, in order, stamped with the agent id, this
// boot's id and consecutive sequence numbers; the birth is a retained
// "online" with the same boot; the heartbeat reports the outbox.
func TestDeliversEventsWithBirthAndHeartbeat(t *testing.T) {
	url := startMochi(t)
	hub := newHub(t, url)
	u := mustNew(t, testOptions(t, url))
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
	if st == nil || st.State != wire.PresenceOnline || st.Boot != u.Boot() || st.Version != "test" {
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
