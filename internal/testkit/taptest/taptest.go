package taptest

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/transport/tap"
)

// Lane is a device on a pseudo-terminal (the physical port), a tap on it,
// and the virtual port the POS application opens.
type Lane struct {
	Port    transport.Address // the physical port, which drivers dial
	Virtual string            // the virtual port, a link to the tap's pseudo-terminal
	Tap     *tap.Tap
}

// Start serves dev on a pseudo-terminal (query adds line settings to its
// address) and runs a tap on it with cfg, whose Port and VirtualPort it
// fills in; an IdleGap, ReplyWait or MaxHold left zero is 20 ms, 80 ms and
// 2 s, short enough for tests. Lock files go to a temporary directory.
func Start(t testing.TB, dev devsim.Device, query string, cfg tap.Config) *Lane {
	t.Helper()
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	old := transport.LockDirs
	transport.LockDirs = []string{t.TempDir()}
	t.Cleanup(func() { transport.LockDirs = old })
	if cfg.Port, err = transport.Parse("serial://" + p.Path + query); err != nil {
		t.Fatal(err)
	}
	cfg.VirtualPort = filepath.Join(t.TempDir(), "ttyPOS0")
	if cfg.IdleGap == 0 {
		cfg.IdleGap = 20 * time.Millisecond
	}
	if cfg.ReplyWait == 0 {
		cfg.ReplyWait = 80 * time.Millisecond
	}
	if cfg.MaxHold == 0 {
		cfg.MaxHold = 2 * time.Second
	}
	ctx, cancel := context.WithCancel(context.Background())
	tp, err := tap.Open(ctx, cfg)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- tp.Run(ctx) }()
	unregister := transport.RegisterTap(cfg.Port.Resource(), tp)
	t.Cleanup(func() {
		unregister()
		cancel()
		if err := <-done; err != nil {
			t.Errorf("tap: %v", err)
		}
	})
	return &Lane{Port: cfg.Port, Virtual: cfg.VirtualPort, Tap: tp}
}

// POS opens the virtual port as the POS application does, with the line
// settings of query (or mode where the query gives none), closed when the
// test ends.
func (l *Lane) POS(t testing.TB, query string, mode transport.SerialMode) transport.Conn {
	t.Helper()
	a, err := transport.Parse("serial://" + l.Virtual + query)
	if err != nil {
		t.Fatal(err)
	}
	c, err := transport.Dial(context.Background(), a, transport.DialOptions{Serial: mode})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
