package uplink

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/storewatch/storewatch/internal/testenv"
	"github.com/storewatch/storewatch/wire"
)

// slowFirstEvent holds the broker's processing (and so its PUBACK) of the
// first event publish for a while, as a broker whose PUBACK waits for a busy
// hub's commit does.
type slowFirstEvent struct {
	mochi.HookBase
	hold time.Duration
	once sync.Once
}

func (*slowFirstEvent) ID() string { return "slow-first-event" }
func (*slowFirstEvent) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck || b == mochi.OnPublish
}
func (*slowFirstEvent) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (*slowFirstEvent) OnACLCheck(*mochi.Client, string, bool) bool              { return true }
func (h *slowFirstEvent) OnPublish(_ *mochi.Client, pk packets.Packet) (packets.Packet, error) {
	if strings.HasSuffix(pk.TopicName, "/"+string(wire.ChannelEvents)) {
		h.once.Do(func() { time.Sleep(h.hold) })
	}
	return pk, nil
}

// A PUBACK that comes later than PublishTimeout on a connection that stays
// up ends the publisher; the uplink must then reconnect and resend, not wait
// forever for its heartbeat goroutine (found by the benchmark suite: agents
// stalled for good during a 10,000-store burst).
func TestLatePubackOnALiveConnectionIsRetried(t *testing.T) {
	url := startMochiAt(t, fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), &slowFirstEvent{hold: 2 * time.Second})
	o := testOptions(t, url)
	o.PublishTimeout = 300 * time.Millisecond
	u := mustNew(t, o)
	run(t, u)
	ctx := context.Background()
	if err := u.Event(ctx, testEvent(1)); err != nil {
		t.Fatal(err)
	}
	// The first PUBACK is late: the publisher gives up on it. Afterwards
	// the uplink must be publishing again.
	testenv.WaitFor(t, 5*time.Second, "the late event to be resent and acknowledged", func() bool {
		return u.Stats().Outbox.Events == 0
	})
	if err := u.Event(ctx, testEvent(2)); err != nil {
		t.Fatal(err)
	}
	testenv.WaitFor(t, 5*time.Second, "a later event to be published", func() bool {
		return u.Stats().Outbox.Events == 0
	})
}
