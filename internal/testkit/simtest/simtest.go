package simtest

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

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

// TCPAt serves dev on addr (such as 127.42.7.1:9100: every 127.x.y.z is
// loopback on Linux, so a test can lay out a small store network) and
// returns host:port; an error when the address is taken, so the caller
// can try another.
func TCPAt(t testing.TB, dev devsim.Device, addr string) (string, error) {
	t.Helper()
	srv, err := devsim.ServeTCP(context.Background(), dev, addr)
	if err != nil {
		return "", err
	}
	t.Cleanup(func() { srv.Close() })
	return srv.Addr, nil
}

// Switch returns a function that switches exactly the given faults of a
// switchboard on (and every other one off).
func Switch(t testing.TB, sb *devsim.Faults) func(faults ...string) {
	return func(faults ...string) {
		t.Helper()
		sb.Clear()
		for _, f := range faults {
			if err := sb.Set(f, true); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Port is a raw connection to an emulator over its PTY.
type Port struct {
	t testing.TB
	f *os.File
}

// Open serves dev on a PTY and opens the terminal's other side. devsim puts
// it in raw mode, so the bytes pass as on a serial line; the line settings
// (speed, parity) mean nothing on a PTY, so there are none to set.
func Open(t testing.TB, dev devsim.Device) *Port {
	t.Helper()
	f, err := os.OpenFile(PTY(t, dev), os.O_RDWR|noControllingTerminal, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return &Port{t: t, f: f}
}

// Ask sends req and returns the raw answer up to and including end, which
// is matched on the low seven bits of each byte (bit 7 may carry parity).
func (p *Port) Ask(req, end []byte) []byte {
	p.t.Helper()
	if _, err := p.f.Write(req); err != nil {
		p.t.Fatal(err)
	}
	got, err := p.Read(end, 5*time.Second)
	if err != nil {
		p.t.Fatalf("answer to %q: %v (got %q)", req, err, got)
	}
	return got
}

// Read reads up to and including end, or until the timeout.
func (p *Port) Read(end []byte, timeout time.Duration) ([]byte, error) {
	_ = p.f.SetReadDeadline(time.Now().Add(timeout))
	var got, low []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(low, end) {
		if _, err := p.f.Read(one); err != nil {
			return got, err
		}
		got = append(got, one[0])
		low = append(low, one[0]&0x7F)
	}
	return got, nil
}

// Silent sends req and checks that nothing comes back within wait.
func (p *Port) Silent(req []byte, wait time.Duration) {
	p.t.Helper()
	if _, err := p.f.Write(req); err != nil {
		p.t.Fatal(err)
	}
	if got, err := p.Read([]byte{0xFF}, wait); len(got) > 0 || err == nil {
		p.t.Fatalf("answer to %q while silent: %q", req, got)
	}
}
