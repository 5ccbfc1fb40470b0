package uplink

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// The crash and will tests need the agent side in a real process that can
// be killed with SIGKILL. The test binary plays that part when started with
// UPLINK_CHILD set: it runs an Uplink on UPLINK_OUTBOX against
// UPLINK_BROKER and, with UPLINK_EVENTS=N, records N events per writer
// goroutine, printing "persisted REASON" after each Event returned nil.

func TestMain(m *testing.M) {
	if os.Getenv("UPLINK_CHILD") != "" {
		os.Exit(childMain())
	}
	os.Exit(m.Run())
}

func childMain() int {
	events, _ := strconv.Atoi(os.Getenv("UPLINK_EVENTS"))
	prefix := os.Getenv("UPLINK_PREFIX")
	o := Options{
		ID:             testID,
		Broker:         config.Broker{URLs: []string{os.Getenv("UPLINK_BROKER")}, KeepAlive: 5 * time.Second},
		Outbox:         config.Outbox{Path: os.Getenv("UPLINK_OUTBOX"), MaxBytes: 64 << 20, MaxAge: 24 * time.Hour},
		Version:        "child",
		ReconnectMin:   20 * time.Millisecond,
		ReconnectMax:   100 * time.Millisecond,
		ConnectTimeout: 2 * time.Second,
		CommitInterval: 5 * time.Millisecond,
		BacklogRate:    -1,
		BacklogBatch:   20,
		HeartbeatEvery: time.Hour,
	}
	u, err := New(o)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	fmt.Printf("boot %s\n", u.Boot())
	ctx := context.Background()
	go u.Run(ctx)
	var out sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := range events {
				ev := testEvent(i)
				ev.Reason = fmt.Sprintf("%s-w%d-%d", prefix, w, i)
				if err := u.Event(ctx, ev); err != nil {
					out.Lock()
					fmt.Println("error", err)
					out.Unlock()
					return
				}
				out.Lock()
				fmt.Printf("persisted %s\n", ev.Reason)
				out.Unlock()
			}
		})
	}
	wg.Wait()
	fmt.Println("done")
	select {} // until killed
}

// child is an agent process started by a test.
type child struct {
	p    *testenv.Process
	boot string
}

func startChild(t testing.TB, outbox, broker, prefix string, events int) *child {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	env := []string{"UPLINK_CHILD=1", "UPLINK_OUTBOX=" + outbox, "UPLINK_BROKER=" + broker,
		"UPLINK_PREFIX=" + prefix, "UPLINK_EVENTS=" + strconv.Itoa(events)}
	p := testenv.StartEnv(t, env, exe, "-test.run=^$")
	c := &child{p: p}
	return c
}

// waitBoot waits for the child to have opened its outbox.
func (c *child) waitBoot(t testing.TB) string {
	testenv.WaitFor(t, 10*time.Second, "child boot", func() bool { return strings.Contains(c.p.Output(), "boot ") || c.p.Exited() })
	for _, l := range strings.Split(c.p.Output(), "\n") {
		if b, ok := strings.CutPrefix(l, "boot "); ok {
			return b
		}
	}
	t.Fatalf("child did not start: %s", c.p.Output())
	return ""
}

// persisted returns the reasons of the events the child reported on disk.
func (c *child) persisted() []string {
	var out []string
	for _, l := range strings.Split(c.p.Output(), "\n") {
		if r, ok := strings.CutPrefix(l, "persisted "); ok {
			out = append(out, r)
		}
	}
	return out
}

func outboxPath(t testing.TB) string { return filepath.Join(t.TempDir(), "outbox.db") }
