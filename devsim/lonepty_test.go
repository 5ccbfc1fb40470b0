//go:build linux

package devsim_test

import (
	"context"
	"io"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/internal/ptyline"
)

// echoDev answers every byte with itself.
type echoDev struct{}

func (echoDev) Serve(ctx context.Context, rw io.ReadWriter) error {
	b := make([]byte, 64)
	for {
		n, err := rw.Read(b)
		if err != nil {
			return err
		}
		if _, err := rw.Write(b[:n]); err != nil {
			return err
		}
	}
}

// A lone PTY is held by nobody between clients, and serves each client
// that opens it, one after the other.
func TestLonePTYServesClientsWithoutHoldingThePort(t *testing.T) {
	p, err := devsim.ServeLonePTY(context.Background(), echoDev{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	for _, fd := range fds {
		if target, _ := os.Readlink("/proc/self/fd/" + fd.Name()); target == p.Path {
			t.Fatalf("the emulator holds %s open (fd %s)", p.Path, fd.Name())
		}
	}
	for i, msg := range []string{"first", "second"} {
		f, err := os.OpenFile(p.Path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		if err := ptyline.MakeRaw(f); err != nil {
			t.Fatal(err)
		}
		if _, err := f.WriteString(msg); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, 0, len(msg))
		buf := make([]byte, 64)
		done := make(chan error, 1)
		go func() {
			for len(got) < len(msg) {
				n, err := f.Read(buf)
				if err != nil {
					done <- err
					return
				}
				got = append(got, buf[:n]...)
			}
			done <- nil
		}()
		select {
		case err := <-done:
			if err != nil || !strings.EqualFold(string(got), msg) {
				t.Fatalf("client %d: read %q, %v; want %q", i+1, got, err, msg)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("client %d: no echo", i+1)
		}
		f.Close()
	}
}
