package transport

import (
	"context"
	"errors"
	"io"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
)

var seenPorts = []SerialPort{
	{Name: "/dev/ttyS0"},
	{Name: "/dev/ttyUSB0", USB: true, VID: "0403", PID: "6001", Serial: "A1B2C3"},
	{Name: "/dev/ttyUSB1", USB: true, VID: "0403", PID: "6001", Serial: "Z9Y8X7"},
	{Name: "/dev/ttyACM0", USB: true, VID: "05e0", PID: "1701", Serial: "S123"},
}

func TestMatchSerialPort(t *testing.T) {
	cases := []struct {
		name, vidpid, serial string
		want                 string // port, or "" for an error
		errHas               string
	}{
		{"one device of its kind", "05e0:1701", "", "/dev/ttyACM0", ""},
		{"upper-case hex and serial choose", "0403:6001", "Z9Y8X7", "/dev/ttyUSB1", ""},
		{"serial compared without case", "0403:6001", "a1b2c3", "/dev/ttyUSB0", ""},
		{"two identical cables need the serial", "0403:6001", "", "", "2 ports match"},
		{"unplugged", "067b:2303", "", "", "USB serial ports present: /dev/ttyUSB0"},
		{"serial of another cable", "0403:6001", "NOPE", "", "no such port"},
		{"bad identity", "0403-6001", "", "", "want VID:PID"},
	}
	for _, c := range cases {
		got, err := MatchSerialPort(seenPorts, c.vidpid, c.serial)
		if c.want != "" {
			if err != nil || got != c.want {
				t.Errorf("%s: got %q, %v; want %s", c.name, got, err, c.want)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), c.errHas) {
			t.Errorf("%s: got %q, %v; want an error saying %q", c.name, got, err, c.errHas)
		}
	}
	if _, err := MatchSerialPort(seenPorts, "1234:5678", ""); !errors.Is(err, ErrUnreachable) {
		t.Errorf("a missing port must match ErrUnreachable: %v", err)
	}
	if _, err := MatchSerialPort([]SerialPort{{Name: "/dev/ttyS0"}}, "1234:5678", ""); err == nil || !strings.Contains(err.Error(), "no USB serial port") {
		t.Errorf("no USB port at all: %v", err)
	}
}

// A port SetupAPI's Ports class does not show (here COM1 on the
// motherboard's legacy driver and a vendor's virtual COM10) is still listed,
// from the names Windows keeps in SERIALCOMM; a port in both lists keeps its
// USB identity. Recorded on a store PC with an FTDI cable on COM3.
func TestWithPlainPorts(t *testing.T) {
	setupapi := []SerialPort{{Name: "COM3", USB: true, VID: "0403", PID: "6001", Serial: "A6004CCFA", Manufacturer: "FTDI", Product: "USB Serial Port"}}
	serialcomm := []string{"COM1", "com3", "COM10", "COM1", ""}
	got := withPlainPorts(setupapi, serialcomm)
	want := []SerialPort{setupapi[0], {Name: "COM1"}, {Name: "COM10"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ports:\n%+v\nwant\n%+v", got, want)
	}
}

// lineEcho answers whatever it reads, to prove which port was opened.
type lineEcho struct{ tag string }

func (e lineEcho) Serve(ctx context.Context, rw io.ReadWriter) error {
	buf := make([]byte, 64)
	for {
		n, err := rw.Read(buf)
		if err != nil {
			return err
		}
		if _, err := rw.Write(append([]byte(e.tag), buf[:n]...)); err != nil {
			return err
		}
	}
}

// TestDialByUSBIdentity opens a serial://?usb=... address end to end: the
// port list (standing in for the enumerator) names a real PTY, and Dial
// finds and opens it.
func TestDialByUSBIdentity(t *testing.T) {
	ctx := context.Background()
	a, err := devsim.ServePTY(ctx, lineEcho{tag: "A:"})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := devsim.ServePTY(ctx, lineEcho{tag: "B:"})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	old := listSerialPorts
	defer func() { listSerialPorts = old }()
	listSerialPorts = func() ([]SerialPort, error) {
		return []SerialPort{
			{Name: a.Path, USB: true, VID: "0403", PID: "6001", Serial: "A1"},
			{Name: b.Path, USB: true, VID: "0403", PID: "6001", Serial: "B2"},
		}, nil
	}
	addr, err := Parse("serial://?usb=0403:6001&usbserial=B2&baud=9600")
	if err != nil {
		t.Fatal(err)
	}
	// Generous: the exchange is what is tested, and under -race on a
	// loaded machine a PTY round trip took longer than 2 s.
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := Dial(dctx, addr, DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x\n")); err != nil {
		t.Fatal(err)
	}
	got, err := ReadUntil(c, []byte("\n"), 16)
	if err != nil || string(got) != "B:x\n" {
		t.Fatalf("read %q, %v; want the port with serial B2", got, err)
	}

	listSerialPorts = func() ([]SerialPort, error) { return nil, errors.New("enumeration failed") }
	if _, err := Dial(dctx, addr, DialOptions{}); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "enumeration failed") {
		t.Fatalf("a failed enumeration: %v, want ErrUnreachable with the cause", err)
	}
}

// TestListSerialPortsOnThisMachine runs the real enumerator: whatever the
// machine has, it must answer without error on the platforms we ship for.
func TestListSerialPortsOnThisMachine(t *testing.T) {
	ports, err := ListSerialPorts()
	if runtime.GOOS != "linux" && runtime.GOOS != "windows" {
		if err == nil {
			t.Fatal("want an error on an unsupported platform")
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range ports {
		if p.Name == "" || (p.USB && (len(p.VID) != 4 || p.VID != strings.ToLower(p.VID))) {
			t.Errorf("port %+v: want a name and lower-case four-digit VID", p)
		}
	}
}
