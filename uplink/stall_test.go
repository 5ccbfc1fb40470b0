package uplink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// slowFirstEvent holds the broker's processing (and so its PUBACK) of the
// first event publish for a while, as a broker whose PUBACK waits for a busy
// hub's commit does, and counts the event publishes it gets.
type slowFirstEvent struct {
	mochi.HookBase
	hold   time.Duration
	once   sync.Once
	events atomic.Int64
}

func (*slowFirstEvent) ID() string { return "slow-first-event" }
func (*slowFirstEvent) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck || b == mochi.OnPublish
}
func (*slowFirstEvent) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (*slowFirstEvent) OnACLCheck(*mochi.Client, string, bool) bool              { return true }
func (h *slowFirstEvent) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasSuffix(pk.TopicName, "/"+string(wire.ChannelEvents)) {
		h.events.Add(1)
		h.once.Do(func() { time.Sleep(h.hold) })
	}
	return pk, nil
}

// A PUBACK later than PublishTimeout on a connection that stays up is
// waited for: the broker is busy, not gone, and reconnecting would only
// add a duplicate and a reconnect to its load (found by the benchmark
// suite: in a 10,000-store burst such reconnects fed on each other).
// Past StallTimeout the uplink gives the connection up, reconnects and
// resends; either way it goes on publishing (a late PUBACK once stalled an
// agent for good).
func TestLatePubackOnALiveConnection(t *testing.T) {
	for _, tc := range []struct {
		name           string
		stall          time.Duration
		wantReconnects bool
		wantResent     bool // the first event published more than once
	}{
		{"waited for within StallTimeout", time.Minute, false, false},
		{"given up after StallTimeout", 600 * time.Millisecond, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hook := &slowFirstEvent{hold: 2 * time.Second}
			url := startMochiAt(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), hook)
			o := testOptions(t, url)
			o.PublishTimeout, o.StallTimeout = 300*time.Millisecond, tc.stall
			u := mustNew(t, o)
			run(t, u)
			ctx := context.Background()
			if err := u.Event(ctx, testEvent(1)); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, 10*time.Second, "the late event to be acknowledged", func() bool {
				return u.Stats().Outbox.Events == 0
			})
			first := hook.events.Load()
			if got := first > 1; got != tc.wantResent {
				t.Errorf("the broker got the first event %d times; resent: %v, want %v", first, got, tc.wantResent)
			}
			if got := u.Stats().Reconnects > 0; got != tc.wantReconnects {
				t.Errorf("reconnected: %v, want %v", got, tc.wantReconnects)
			}
			if err := u.Event(ctx, testEvent(2)); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, 10*time.Second, "a later event to be published", func() bool {
				return u.Stats().Outbox.Events == 0 && hook.events.Load() > first
			})
		})
	}
}
