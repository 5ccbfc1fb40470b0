package scanner_test

import (
	"context"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/scanner"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/usbinv/sysfstest"
	"github.com/storewatch/storewatch/wire"
)

// The store PC of drivers/usbinv/testdata/sys/store.txtar has: Zebra
// 05e0:1200 S4711 as a keyboard wedge, Honeywell 0c2e:0b81 19283 in HID POS,
// Zebra 05e0:1701 S123 in CDC, Newland 1eab:0c10 NL77 (HID POS by PID),
// Zebra 05e0:1900 S900 in SNAPI.
const store = "../usbinv/testdata/sys/store.txtar"

func TestScanner(t *testing.T) {
	root := sysfstest.Unpack(t, store)
	empty := sysfstest.Unpack(t, "../usbinv/testdata/sys/empty.txtar")
	cases := []struct {
		name, root, addr, mode string
		expected               *wire.Identity
		want, detail           string
	}{
		{"keyboard wedge as configured", root, "usb://05e0:1200?serial=S4711", "keyboard", nil, "ok", "HID keyboard"},
		{"keyboard wedge where the POS wants HID POS", root, "usb://05e0:1200?serial=S4711", "hid_pos", nil, "wrong_mode", "HID keyboard"},
		{"HID POS as configured", root, "usb://0c2e:0b81", "hid_pos", nil, "ok", "HID POS bar code scanner"},
		{"HID POS where the POS reads a keyboard", root, "usb://0c2e:0b81", "keyboard", nil, "wrong_mode", ""},
		{"CDC as configured (alias)", root, "usb://05e0:1701?serial=S123", "cdc", nil, "ok", "CDC"},
		{"mode switched: found by serial under another PID", root, "usb://05e0:1900?serial=S4711", "oem", nil, "wrong_mode", "found by serial number with product id 1200 instead of 1900"},
		{"mode switched: the only device of its vendor", root, "usb://1eab:0c03", "keyboard", nil, "wrong_mode", "the only 1eab device"},
		{"mode from the PID table", root, "usb://1eab:0c10", "hid_pos", nil, "ok", "product id 1eab:0c10 means HID POS"},
		{"any mode", root, "usb://05e0:1900?serial=S900", "any", nil, "ok", ""},
		{"another unit in its place", root, "usb://0c2e:0b81", "", &wire.Identity{Serial: "55555"}, "unknown_device", ""},
		{"unplugged", empty, "usb://0c2e:0b81", "hid_pos", nil, "device_missing", "not connected"},
		{"a vendor with several devices and no serial", root, "usb://05e0:1a00", "keyboard", nil, "device_missing", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, err := transport.Parse(c.addr)
			if err != nil {
				t.Fatal(err)
			}
			opts := map[string]string{"sysfs_root": c.root}
			if c.mode != "" {
				opts["mode"] = c.mode
			}
			p, err := drivers.New("scanner", drivers.Spec{ID: "lane1-scanner", Kind: "barcode_scanner", Address: a, Options: drivers.NewOptions(opts), Expected: c.expected})
			if err != nil {
				t.Fatal(err)
			}
			r, err := p.Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			got, text := "ok", r.Detail
			if len(r.Faults) > 0 {
				got, text = string(r.Faults[0].Code), r.Faults[0].Detail
			}
			if got != c.want || !strings.Contains(text, c.detail) {
				t.Errorf("got %s %q, want %s mentioning %q", got, text, c.want, c.detail)
			}
		})
	}
}

func TestOptions(t *testing.T) {
	a, _ := transport.Parse("usb://05e0:1200")
	for _, opts := range []map[string]string{{"mode": "wedge"}, {"mdoe": "keyboard"}, {"backend": "none"}} {
		if _, err := drivers.New("scanner", drivers.Spec{Address: a, Options: drivers.NewOptions(opts)}); err == nil {
			t.Errorf("options %v accepted", opts)
		}
	}
	a, _ = transport.Parse("serial:///dev/ttyACM0")
	if _, err := drivers.New("scanner", drivers.Spec{Address: a}); err == nil {
		t.Error("a serial address was accepted (that is the ssi driver's)")
	}
}

func TestIdentify(t *testing.T) {
	root := sysfstest.Unpack(t, store)
	a, _ := transport.Parse("usb://0c2e:0b81")
	p, err := drivers.New("scanner", drivers.Spec{Address: a, Options: drivers.NewOptions(map[string]string{"sysfs_root": root})})
	if err != nil {
		t.Fatal(err)
	}
	id, err := p.(drivers.Identifier).Identify(context.Background())
	if err != nil || id.Model != "Voyager 1400g" || id.Serial != "19283" || id.Extra["mode"] != "hid_pos" {
		t.Fatalf("Identify = %+v, %v", id, err)
	}
}
