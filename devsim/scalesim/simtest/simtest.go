package simtest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers/transport"
)

// Serve runs dev on a PTY for the rest of the test and returns its path.
func Serve(t testing.TB, dev devsim.Device) string {
	t.Helper()
	p, err := devsim.ServePTY(context.Background(), dev)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	return p.Path
}

// Port is a raw connection to an emulator.
type Port struct {
	t testing.TB
	c transport.Conn
}

// Open serves dev on a PTY and opens it as a serial port.
func Open(t testing.TB, dev devsim.Device) *Port {
	t.Helper()
	a, err := transport.Parse("serial://" + Serve(t, dev))
	if err != nil {
		t.Fatal(err)
	}
	c, err := transport.Dial(context.Background(), a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &Port{t: t, c: c}
}

// Ask sends req and returns the raw answer up to and including end, which
// is matched on the low seven bits of each byte (bit 7 may carry parity).
func (p *Port) Ask(req, end []byte) []byte {
	p.t.Helper()
	if _, err := p.c.Write(req); err != nil {
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
	_ = p.c.SetDeadline(time.Now().Add(timeout))
	var got, low []byte
	one := make([]byte, 1)
	for !bytes.HasSuffix(low, end) {
		if _, err := p.c.Read(one); err != nil {
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
	if _, err := p.c.Write(req); err != nil {
		p.t.Fatal(err)
	}
	if got, err := p.Read([]byte{0xFF}, wait); len(got) > 0 || err == nil {
		p.t.Fatalf("answer to %q while silent: %q", req, got)
	}
}
