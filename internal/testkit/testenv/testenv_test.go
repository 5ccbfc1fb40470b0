package testenv

import (
	"fmt"
	"net"
	"testing"
)

// Ports for the suite's servers are never handed out twice, are free, and
// come from below the kernel's ephemeral range (where no outgoing
// connection can take one before the server binds it).
func TestPickPortHandsOutFreePortsBelowTheEphemeralRange(t *testing.T) {
	lo, hi := portsBelowEphemeral()
	seen := map[int]bool{}
	for range 50 {
		port := FreePort(t)
		if seen[port] {
			t.Fatalf("port %d handed out twice", port)
		}
		seen[port] = true
		if hi > lo && (port < lo || port >= hi) {
			t.Errorf("port %d outside %d-%d", port, lo, hi)
		}
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			t.Fatalf("port %d is not free: %v", port, err)
		}
		ln.Close()
	}
	t.Logf("ports from %d-%d", lo, hi)
}
