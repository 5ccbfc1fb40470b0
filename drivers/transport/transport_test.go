package transport_test

import (
	"context"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers/transport"
)

func TestParse(t *testing.T) {
	cases := []struct {
		in       string
		scheme   string
		path     string
		resource string
		mode     string
	}{
		{"serial:///dev/ttyUSB0?baud=19200&parity=e&databits=7", "serial", "/dev/ttyUSB0", "serial:/dev/ttyUSB0", "19200 7E1"},
		{"serial://COM7", "serial", "COM7", "serial:COM7", "9600 8N1"},
		{"serial:COM3?stopbits=2", "serial", "COM3", "serial:COM3", "9600 8N2"},
		{"serial://?usb=0403:6001&usbserial=A1B2", "serial", "", "serial:usb=0403:6001/A1B2", "9600 8N1"},
		{"tcp://10.0.0.5:9100", "tcp", "", "tcp:10.0.0.5:9100", ""},
		{"TCP://printer.local", "tcp", "", "tcp:printer.local", ""},
		{"usb://04b8:0e28", "usb", "", "usb:04b8:0e28", ""},
		{"snmp://10.0.0.7?community=secret", "snmp", "", "snmp:10.0.0.7", ""},
		{"winspool:EPSON TM-T88V Receipt", "winspool", "EPSON TM-T88V Receipt", "winspool:epson tm-t88v receipt", ""},
		{`winspool:\\printsrv\Lane 3`, "winspool", `\\printsrv\Lane 3`, `winspool:\\printsrv\lane 3`, ""},
		{"winspool://Receipt", "winspool", "Receipt", "winspool:receipt", ""},
	}
	for _, c := range cases {
		a, err := transport.Parse(c.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", c.in, err)
			continue
		}
		if a.Scheme != c.scheme || a.Path != c.path || a.Resource() != c.resource {
			t.Errorf("Parse(%q) = scheme %q path %q resource %q", c.in, a.Scheme, a.Path, a.Resource())
		}
		if c.mode != "" {
			m, err := a.SerialMode(transport.Mode8N1)
			if err != nil || m.String() != c.mode {
				t.Errorf("Parse(%q).SerialMode = %v, %v; want %s", c.in, m, err, c.mode)
			}
		}
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"", "/dev/ttyUSB0", "ftp://x", "usb://4b8:e28", "usb://zzzz:0000", "serial://", "serial:///dev/ttyS0?baud=fast",
		"serial:///dev/ttyS0?parity=X", "serial:///dev/ttyS0?stopbits=3", "tcp://", "tcp://host:99999", "usb://",
		"winspool:", "winspool://",
	} {
		if _, err := transport.Parse(in); err == nil {
			t.Errorf("Parse(%q) accepted a bad address", in)
		}
	}
}

func TestStringHidesSecrets(t *testing.T) {
	a, err := transport.Parse("snmp://10.0.0.7?version=3&community=s3cret&auth_pass=hunter2")
	if err != nil {
		t.Fatal(err)
	}
	s := a.String()
	if strings.Contains(s, "s3cret") || strings.Contains(s, "hunter2") || !strings.Contains(s, "version=3") {
		t.Errorf("String() = %q", s)
	}
}

// echo answers every line with "OK <line>\r\n", like a minimal device.
type echo struct{ silent bool }

func (e echo) Serve(ctx context.Context, rw io.ReadWriter) error {
	buf := make([]byte, 64)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		if e.silent {
			continue
		}
		if _, err := rw.Write(append([]byte("OK "), buf[:n]...)); err != nil {
			return err
		}
	}
}

func TestSerialOverPTY(t *testing.T) {
	ctx := context.Background()
	p, err := devsim.ServePTY(ctx, echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := transport.Parse("serial://" + p.Path + "?baud=9600")
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	c, err := transport.Dial(dctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("PING\n")); err != nil {
		t.Fatal(err)
	}
	got, err := transport.ReadUntil(c, []byte("\n"), 64)
	if err != nil || string(got) != "OK PING\n" {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}
}

func TestSerialTimeoutIsAnError(t *testing.T) {
	p, err := devsim.ServePTY(context.Background(), echo{silent: true})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, _ := transport.Parse("serial://" + p.Path)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\n"))
	_, err = transport.ReadFull(c, 4)
	if !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read from a silent device: %v, want a deadline error", err)
	}
}

func TestMissingSerialPortIsUnreachable(t *testing.T) {
	a, _ := transport.Parse("serial:///dev/ttyDOESNOTEXIST9")
	_, err := transport.Dial(context.Background(), a, transport.DialOptions{})
	if !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
	if !strings.Contains(err.Error(), "/dev/ttyDOESNOTEXIST9") {
		t.Errorf("error does not name the port: %v", err)
	}
}

func TestTCPRefusedIsUnreachable(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	a, _ := transport.Parse("tcp://" + addr)
	_, err := transport.Dial(context.Background(), a, transport.DialOptions{})
	if !errors.Is(err, transport.ErrUnreachable) {
		t.Fatalf("err = %v, want ErrUnreachable", err)
	}
}

func TestContextCancelUnblocksRead(t *testing.T) {
	srv, err := devsim.ServeTCP(context.Background(), echo{silent: true}, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	a, _ := transport.Parse("tcp://" + srv.Addr)
	ctx, cancel := context.WithCancel(context.Background())
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	errc := make(chan error, 1)
	go func() { _, err := transport.ReadFull(c, 1); errc <- err }()
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("read returned no error after cancel")
	}
}

func TestLocksSerialise(t *testing.T) {
	var l transport.Locks
	release, err := l.Acquire(context.Background(), "serial:/dev/ttyS0")
	if err != nil {
		t.Fatal(err)
	}
	other, err := l.Acquire(context.Background(), "serial:/dev/ttyS1")
	if err != nil {
		t.Fatal("a different port must not wait")
	}
	other()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := l.Acquire(ctx, "serial:/dev/ttyS0"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second Acquire of a held port: %v, want it to wait until the context ends", err)
	}
	release()
	release() // a second release is harmless
	again, err := l.Acquire(context.Background(), "serial:/dev/ttyS0")
	if err != nil {
		t.Fatal(err)
	}
	again()
}

// A USB printer-class node (/dev/usb/lp0) is opened as a file; a PTY's
// slave end behaves the same way for reads, writes and deadlines.
func TestUSBNodeIsAFile(t *testing.T) {
	p, err := devsim.ServePTY(context.Background(), echo{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	a, err := transport.Parse("usb://" + p.Path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("PING\n"))
	if got, err := transport.ReadUntil(c, []byte("\n"), 64); err != nil || string(got) != "OK PING\n" {
		t.Fatalf("ReadUntil = %q, %v", got, err)
	}
	if err := transport.StepDeadline(ctx, c, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, err := transport.ReadFull(c, 1); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("read past a step deadline: %v", err)
	}
}

func TestUSBUnreachable(t *testing.T) {
	for _, addr := range []string{"usb:///dev/usb/lpDOESNOTEXIST", "usb://04b8:0e28"} {
		a, _ := transport.Parse(addr)
		if _, err := transport.Dial(context.Background(), a, transport.DialOptions{}); !errors.Is(err, transport.ErrUnreachable) {
			t.Errorf("%s: %v, want ErrUnreachable", addr, err)
		}
	}
}

func TestTimeoutExplainsClosedConnection(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	closed := errors.New("use of closed network connection")
	if err := transport.Timeout(ctx, closed); err != closed {
		t.Errorf("live context: %v", err)
	}
	cancel()
	if err := transport.Timeout(ctx, closed); !errors.Is(err, context.Canceled) || !errors.Is(err, closed) {
		t.Errorf("ended context: %v", err)
	}
}

// A connection of Dial reads ahead: two answers that arrive together are
// still read one at a time, the second from what the first read kept,
// and Flush drops what was kept.
func TestReadAheadKeepsWhatFollowsTheDelimiter(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sent := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		_, _ = c.Write([]byte("\x02first\x03\r\n\x02second\x03\r\nXY"))
		sent <- c
	}()
	a, _ := transport.Parse("tcp://" + ln.Addr().String() + "?alive=none")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := transport.Dial(ctx, a, transport.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	peer := <-sent
	defer peer.Close()
	for _, want := range []string{"\x02first\x03\r\n", "\x02second\x03\r\n"} {
		got, err := transport.ReadUntil(c, []byte("\x03\r\n"), 64)
		if err != nil || string(got) != want {
			t.Fatalf("ReadUntil = %q, %v; want %q", got, err, want)
		}
	}
	if b, err := transport.ReadFull(c, 1); err != nil || string(b) != "X" {
		t.Fatalf("ReadFull = %q, %v; want X", b, err)
	}
	transport.Flush(c) // drops the Y read ahead
	_, _ = peer.Write([]byte("Z"))
	if b, err := transport.ReadFull(c, 1); err != nil || string(b) != "Z" {
		t.Fatalf("after Flush: ReadFull = %q, %v; want Z", b, err)
	}
}
