package incident

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// An agent's backlog counts as rising while each heartbeat's outbox holds
// more than the one before; a smaller or empty one ends the run. The OS
// comes from the birth.
func TestBacklogRisingAndOS(t *testing.T) {
	t0 := time.Date(2026, 12, 1, 9, 0, 0, 0, time.UTC)
	e := New(Config{Policy: DefaultPolicy(), Clock: clock.NewFake(t0)})
	id := wire.AgentID{Tenant: "acme", Store: "s1", Agent: "main"}
	e.Status(&wire.Status{Header: wire.Header{AgentID: id, Boot: "b", Time: t0}, State: wire.PresenceOnline, OS: "linux/arm64", Conn: 1}, t0)
	for i, c := range []struct{ depth, rising int }{{5, 0}, {9, 1}, {20, 2}, {20, 2}, {31, 3}, {4, 0}, {8, 1}, {0, 0}} {
		e.Metrics(&wire.Metrics{Header: wire.Header{AgentID: id, Boot: "b", Seq: uint64(i + 1), Time: t0}, Heartbeat: &wire.Heartbeat{OutboxDepth: c.depth}}, t0)
		a := e.Agents()[0]
		if a.BacklogRising != c.rising {
			t.Fatalf("heartbeat %d (depth %d): rising %d, want %d", i, c.depth, a.BacklogRising, c.rising)
		}
		if a.OS != "linux/arm64" {
			t.Fatalf("OS %q", a.OS)
		}
	}
}
