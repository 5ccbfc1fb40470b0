// Package simtest serves devsim emulators for driver tests: on a PTY (the
// driver opens it as a serial port) or on a loopback TCP port, stopped when
// the test ends.
package simtest

import (
	"context"
	"testing"

	"github.com/storewatch/storewatch/devsim"
)

// PTY serves dev on a new pseudo-terminal and returns the slave's path.
func PTY(t testing.TB, dev devsim.Device) string {
	t.Helper()
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Path
}

// TCP serves dev on a free loopback port and returns host:port.
func TCP(t testing.TB, dev devsim.Device) string {
	t.Helper()
	srv, err := devsim.ServeTCP(context.Background(), dev, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr
}
