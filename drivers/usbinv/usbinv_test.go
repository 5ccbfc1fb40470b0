package usbinv_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/drivers/usbinv/sysfstest"
	"github.com/storewatch/storewatch/wire"
)

func list(t *testing.T, archive string) []usbinv.Device {
	t.Helper()
	root := sysfstest.Unpack(t, archive)
	devs, err := usbinv.Sysfs{Root: root}.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return devs
}

// TestSysfsStore reads the fixture store PC and checks each device as lsusb
// would show it, plus what the kernel hung below its interfaces.
func TestSysfsStore(t *testing.T) {
	devs := list(t, "testdata/sys/store.txtar")
	var got []string
	for _, d := range devs {
		line := fmt.Sprintf("%s %s %s|%s|%s", d.Path, d.ID(), d.Serial, d.Manufacturer, d.Product)
		for _, in := range d.Interfaces {
			line += fmt.Sprintf(" if%d=%02x/%02x/%02x:%s", in.Number, in.Class, in.SubClass, in.Protocol, in.Driver)
			if len(in.TTYs) > 0 {
				line += " " + strings.Join(in.TTYs, ",")
			}
			for _, u := range in.Usages {
				line += " usage=" + u.String()
			}
		}
		got = append(got, line)
	}
	want := []string{
		"1-1 05e0:1200 S4711|Symbol Technologies, Inc, 2008|Symbol Bar Code Scanner if0=03/01/01:usbhid usage=0001:0006",
		"1-2 0c2e:0b81 19283|Honeywell Imaging & Mobility|Voyager 1400g if0=03/00/00:usbhid usage=008c:0002",
		"1-3 0403:6001 A1B2C3|FTDI|FT232R USB UART if0=ff/ff/ff:ftdi_sio /dev/ttyUSB0",
		"1-4 04b8:0202 X5E1|EPSON|TM-T88V if0=07/01/02:usblp",
		"1-5 05e0:1701 S123|Symbol Technologies|Symbol Bar Code Scanner if0=02/02/01:cdc_acm /dev/ttyACM0 if1=0a/00/00:cdc_acm",
		"1-6 0b00:0080 |Ingenico|Desk/5000 if0=02/02/01:cdc_acm /dev/ttyACM1 if1=0a/00/00:cdc_acm",
		"1-7 1eab:0c10 NL77|Newland|HR3260 if0=ff/00/00:",
		"1-8 05e0:1900 S900|Symbol Technologies|Symbol Bar Code Scanner if0=03/00/00:usbhid usage=ff00:0001",
		"1-9 0eb8:f000 MT5|Mettler Toledo|USB Scale if0=03/00/00:usbhid usage=008d:0020",
		"usb1 1d6b:0002 0000:00:14.0|Linux 6.1.0 xhci-hcd|xHCI Host Controller if0=09/00/00:hub",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("devices:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSysfsWithoutUSB(t *testing.T) {
	if devs := list(t, "testdata/sys/nousb.txtar"); len(devs) != 0 {
		t.Errorf("a machine without a USB bus listed %v", devs)
	}
	_, err := usbinv.Sysfs{Root: "/nonexistent/sys"}.List(context.Background())
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing root: %v, want an error", err)
	}
}

func TestDetectMode(t *testing.T) {
	devs := list(t, "testdata/sys/store.txtar")
	want := map[string]usbinv.Mode{
		"05e0:1200": usbinv.ModeKeyboard, // from the report descriptor
		"0c2e:0b81": usbinv.ModeHIDPOS,
		"0403:6001": usbinv.ModeSerial, // a tty below the interface
		"04b8:0202": usbinv.ModePrinter,
		"05e0:1701": usbinv.ModeSerial, // CDC
		"1eab:0c10": usbinv.ModeHIDPOS, // from Newland's PID rule: no descriptor
		"05e0:1900": usbinv.ModeOEM,    // vendor-defined usage page
		"0eb8:f000": usbinv.ModeScale,
	}
	for _, d := range devs {
		w, ok := want[d.ID()]
		if !ok {
			continue
		}
		if got, how := usbinv.DetectMode(d); got != w || how == "" {
			t.Errorf("%s: mode %q (%s), want %q", d.ID(), got, how, w)
		}
	}
	// Without interfaces, the product id table decides.
	for id, w := range map[[2]uint16]usbinv.Mode{{0x05f9, 0x2206}: usbinv.ModeKeyboard, {0x0c2e, 0x0007}: usbinv.ModeOEM, {0x1eab, 0x0d06}: usbinv.ModeSerial, {0x1234, 0x5678}: usbinv.ModeUnknown} {
		if got, _ := usbinv.DetectMode(usbinv.Device{VID: id[0], PID: id[1]}); got != w {
			t.Errorf("%04x:%04x: %q, want %q", id[0], id[1], got, w)
		}
	}
}

func TestParseMode(t *testing.T) {
	for in, want := range map[string]usbinv.Mode{"hid_pos": usbinv.ModeHIDPOS, "keyboard": usbinv.ModeKeyboard, "cdc": usbinv.ModeSerial, "snapi": usbinv.ModeOEM} {
		if got, err := usbinv.ParseMode(in); err != nil || got != want {
			t.Errorf("ParseMode(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := usbinv.ParseMode("hidpos2"); err == nil {
		t.Error("a bad mode was accepted")
	}
}

func probe(t *testing.T, root, addr string, expected *wire.Identity) drivers.Reading {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drivers.New("usbinv", drivers.Spec{ID: "dev", Address: a, Options: drivers.NewOptions(map[string]string{"sysfs_root": root}), Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	r, err := p.Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func faults(r drivers.Reading) string {
	var out []string
	for _, f := range r.Faults {
		out = append(out, string(f.Code))
	}
	if len(out) == 0 {
		return "ok"
	}
	return strings.Join(out, ",")
}

// TestDriver: present, missing, and present with another identity.
func TestDriver(t *testing.T) {
	root := sysfstest.Unpack(t, "testdata/sys/store.txtar")
	empty := sysfstest.Unpack(t, "testdata/sys/empty.txtar")
	cases := []struct {
		name, root, addr string
		expected         *wire.Identity
		want             string
	}{
		{"present", root, "usb://04b8:0202?serial=X5E1", nil, "ok"},
		{"present, inventory agrees", root, "usb://04b8:0202", &wire.Identity{Vendor: "EPSON", Model: "TM-T88V", Serial: "X5E1"}, "ok"},
		{"swapped for another unit", root, "usb://04b8:0202", &wire.Identity{Serial: "Z999"}, "unknown_device"},
		{"another model on the same ids", root, "usb://0b00:0080", &wire.Identity{Model: "Move/5000"}, "unknown_device"},
		{"serial number not there", root, "usb://04b8:0202?serial=Z999", nil, "device_missing"},
		{"unplugged", empty, "usb://0b00:0080", nil, "device_missing"},
	}
	for _, c := range cases {
		r := probe(t, c.root, c.addr, c.expected)
		if got := faults(r); got != c.want {
			t.Errorf("%s: %s (%s), want %s", c.name, got, r.Detail, c.want)
		}
	}
	r := probe(t, root, "usb://04b8:0202", nil)
	if r.Identity == nil || r.Identity.Vendor != "EPSON" || r.Identity.Model != "TM-T88V" || r.Identity.Serial != "X5E1" {
		t.Errorf("identity %+v", r.Identity)
	}
	r = probe(t, empty, "usb://0b00:0080", nil)
	if f := r.Faults[0]; f.Severity != wire.SeverityError || !strings.Contains(f.Detail, "0b00:0080") {
		t.Errorf("device_missing fault %+v should name the device", f)
	}
}

func TestDriverOptions(t *testing.T) {
	for _, c := range []struct {
		addr string
		opts map[string]string
	}{
		{"usb://04b8:0202", map[string]string{"backend": "nosuch"}},
		{"usb://04b8:0202", map[string]string{"root": "/sys"}},
		{"usb:///dev/usb/lp0", nil},
	} {
		a, err := transport.Parse(c.addr)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := drivers.New("usbinv", drivers.Spec{Address: a, Options: drivers.NewOptions(c.opts)}); err == nil {
			t.Errorf("%s %v accepted", c.addr, c.opts)
		}
	}
}

// TestDiscover lists the fixture PC with a fixed serial port list and
// checks what it recognises and the table it prints.
func TestDiscover(t *testing.T) {
	root := sysfstest.Unpack(t, "testdata/sys/store.txtar")
	d := usbinv.Discoverer{
		Lister: usbinv.Sysfs{Root: root},
		SerialPorts: func() ([]transport.SerialPort, error) {
			return []transport.SerialPort{
				{Name: "/dev/ttyS0"},
				{Name: "/dev/ttyUSB0", USB: true, VID: "0403", PID: "6001", Serial: "A1B2C3"},
				{Name: "/dev/ttyACM0", USB: true, VID: "05e0", PID: "1701", Serial: "S123"},
			}, nil
		},
	}
	rep, err := d.Discover(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	byID := map[string]usbinv.Found{}
	for _, f := range rep.Found {
		if f.Device != nil {
			byID[f.Device.ID()] = f
		} else {
			byID[f.Port] = f
		}
	}
	for id, w := range map[string]struct{ kind, driver, address, port string }{
		"05e0:1200":  {"barcode_scanner", "scanner", "usb://05e0:1200?serial=S4711", ""},
		"05e0:1701":  {"barcode_scanner", "ssi", "serial://?usb=05e0:1701&usbserial=S123", "/dev/ttyACM0"},
		"04b8:0202":  {"receipt_printer", "escpos", "usb:///dev/usb/lp0", "/dev/usb/lp0"}, // the node escpos can open without libusb
		"0b00:0080":  {"payment_terminal", "zvt", "serial://?usb=0b00:0080", "/dev/ttyACM1"},
		"0403:6001":  {"usb_serial", "", "serial://?usb=0403:6001&usbserial=A1B2C3", "/dev/ttyUSB0"},
		"0eb8:f000":  {"scale", "usbinv", "usb://0eb8:f000?serial=MT5", ""},
		"/dev/ttyS0": {"serial_port", "", "serial:///dev/ttyS0", "/dev/ttyS0"},
	} {
		f, ok := byID[id]
		if !ok {
			t.Errorf("%s not found", id)
			continue
		}
		if f.Kind != w.kind || f.Driver != w.driver || f.Address != w.address || f.Port != w.port {
			t.Errorf("%s: kind %q driver %q address %q port %q; want %+v", id, f.Kind, f.Driver, f.Address, f.Port, w)
		}
	}
	if _, ok := byID["1d6b:0002"]; ok {
		t.Error("the root hub is not a store device")
	}
	if len(rep.Found) != 10 {
		t.Errorf("found %d entries, want 9 USB devices and 1 plain serial port", len(rep.Found))
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	golden := "testdata/discover.golden"
	if os.Getenv("UPDATE_GOLDEN") != "" {
		os.WriteFile(golden, buf.Bytes(), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if buf.String() != string(want) {
		t.Errorf("table:\n%s\nwant (%s, regenerate with UPDATE_GOLDEN=1):\n%s", buf.String(), golden, want)
	}
}

func TestDiscoverReportsProblems(t *testing.T) {
	d := usbinv.Discoverer{
		Lister:      usbinv.Sysfs{Root: "/nonexistent"},
		SerialPorts: func() ([]transport.SerialPort, error) { return nil, errors.New("no enumerator") },
	}
	rep, err := d.Discover(context.Background())
	if err != nil || len(rep.Problems) != 2 {
		t.Fatalf("Discover = %+v, %v; want two problems and no error", rep, err)
	}
	var buf bytes.Buffer
	rep.WriteTable(&buf)
	if !strings.Contains(buf.String(), "problem: serial ports: no enumerator") || !strings.Contains(buf.String(), "no USB devices or serial ports found") {
		t.Errorf("table:\n%s", buf.String())
	}
}

// TestDiscoverThisMachine runs the real thing: whatever the machine has,
// it must not fail.
func TestDiscoverThisMachine(t *testing.T) {
	rep, err := usbinv.Discover(context.Background(), "")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := rep.WriteTable(&buf); err != nil {
		t.Fatal(err)
	}
	t.Logf("\n%s", buf.String())
}
