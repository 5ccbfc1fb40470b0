package transport_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers/transport"
)

// listen returns a listener that accepts connections and holds them open
// without a word, as a printer busy with another client's job does (its
// TCP stack accepts; its firmware reads nothing until the job is done).
func listen(t *testing.T) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		var held []net.Conn
		defer func() {
			for _, c := range held {
				c.Close()
			}
		}()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			held = append(held, c)
		}
	}()
	return ln
}

func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func port(addr string) string { _, p, _ := net.SplitHostPort(addr); return p }

// ask connects, sends one status question and reads one byte, as the
// ESC/POS driver does.
func ask(t *testing.T, address string) error {
	t.Helper()
	a, err := transport.Parse(address)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Write([]byte{0x10, 0x04, 0x01}); err != nil {
		return err
	}
	_, err = transport.ReadFull(c, 1)
	return transport.Timeout(ctx, err)
}

func TestSilentTCPDeviceIsBusyWhenItsOtherPortsAnswer(t *testing.T) {
	printer := listen(t).Addr().String()
	web := listen(t).Addr().String()
	cases := []struct {
		name    string
		address string
		busy    bool
	}{
		{"accepted but silent, web interface up", fmt.Sprintf("tcp://%s?alive=%s", printer, port(web)), true},
		{"refused, web interface up", fmt.Sprintf("tcp://%s?alive=%s", closedPort(t), port(web)), true},
		{"accepted but silent, web interface down", fmt.Sprintf("tcp://%s?alive=%s", printer, port(closedPort(t))), false},
		{"refused, web interface down", fmt.Sprintf("tcp://%s?alive=%s", closedPort(t), port(closedPort(t))), false},
		{"accepted but silent, check turned off", fmt.Sprintf("tcp://%s?alive=none", printer), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := ask(t, c.address)
			if err == nil {
				t.Fatal("a silent device answered")
			}
			if got := errors.Is(err, transport.ErrBusy); got != c.busy {
				t.Fatalf("busy = %v, want %v (err: %v)", got, c.busy, err)
			}
			if c.busy && !strings.Contains(err.Error(), "answers on port "+port(web)) {
				t.Errorf("the error does not say which signal showed the device alive: %v", err)
			}
			if !c.busy && !errors.Is(err, transport.ErrUnreachable) && !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("a dead device must stay unreachable or silent: %v", err)
			}
		})
	}
}

func TestAlivePortsParameter(t *testing.T) {
	for in, want := range map[string]string{
		"tcp://p:9100":                 "[80]",
		"tcp://p:9100?alive=80,515":    "[80 515]",
		"tcp://p:9100?alive=none":      "[]",
		"tcp://p:9100?alive=80,%20631": "[80 631]",
	} {
		a, err := transport.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		got, err := a.AlivePorts()
		if err != nil || fmt.Sprint(got) != want {
			t.Errorf("%s: %v, %v; want %s", in, got, err, want)
		}
	}
	if _, err := transport.Parse("tcp://p:9100?alive=http"); err == nil || !strings.Contains(err.Error(), "alive") {
		t.Errorf("alive=http: %v, want the address refused", err)
	}
}

func FuzzParseLockPID(f *testing.F) {
	for _, s := range [][]byte{transport.FormatLockPID(4312), {0xd8, 0x10, 0, 0}, []byte("  123\n"), {}, []byte("-5\n"), []byte("x")} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		pid, err := transport.ParseLockPID(b)
		if err != nil {
			return
		}
		if pid <= 0 {
			t.Fatalf("pid %d accepted from %q", pid, b)
		}
		again, err := transport.ParseLockPID(transport.FormatLockPID(pid))
		if err != nil || again != pid {
			t.Fatalf("round trip of %d: %d, %v", pid, again, err)
		}
	})
}
