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

func TestBelowPortRange(t *testing.T) {
	for _, c := range []struct {
		in     string
		lo, hi int
	}{
		{"32768\t60999\n", 22768, 32768},
		{"10000 65000", 1024, 10000}, // the 10,000 below would reach under 1024
		{"1500 2000", 0, 0},          // no room above 1024: any free port
		{"", 0, 0},
		{"32768", 0, 0},
		{"a b", 0, 0},
		{"99999 100000", 0, 0},
	} {
		if lo, hi := belowPortRange([]byte(c.in)); lo != c.lo || hi != c.hi {
			t.Errorf("%q: %d-%d, want %d-%d", c.in, lo, hi, c.lo, c.hi)
		}
	}
}

// Whatever the file holds, the range is empty or ports above 1024 that a
// TCP port number can name.
func FuzzBelowPortRange(f *testing.F) {
	f.Add([]byte("32768\t60999\n"))
	f.Add([]byte("-5 7"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lo, hi := belowPortRange(b)
		if lo == 0 && hi == 0 {
			return
		}
		if lo < 1024 || hi <= lo || hi > 65535 {
			t.Fatalf("%q: range %d-%d", b, lo, hi)
		}
	})
}
