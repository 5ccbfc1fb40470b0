//go:build libusb && cgo

package usbinv

import (
	"context"
	"testing"

	"github.com/google/gousb"
)

// TestLibusbDescriptor converts a libusb device descriptor as the backend
// does: identity, path, and the first configuration's interfaces.
func TestLibusbDescriptor(t *testing.T) {
	desc := &gousb.DeviceDesc{
		Bus: 1, Address: 7, Path: []int{1, 4},
		Vendor: 0x05e0, Product: 0x1701, Class: gousb.ClassPerInterface,
		Configs: map[int]gousb.ConfigDesc{
			1: {Number: 1, Interfaces: []gousb.InterfaceDesc{
				{Number: 0, AltSettings: []gousb.InterfaceSetting{{Number: 0, Class: gousb.ClassComm, SubClass: 0x02, Protocol: 0x01}}},
				{Number: 1, AltSettings: []gousb.InterfaceSetting{{Number: 1, Class: gousb.ClassData}}},
			}},
		},
	}
	d := fromDesc(desc)
	if d.ID() != "05e0:1701" || d.Path != "1-1.4" || len(d.Interfaces) != 2 || d.Interfaces[0].Class != ClassCDC || d.Interfaces[1].Class != ClassCDCData {
		t.Fatalf("converted %+v", d)
	}
	if m, _ := DetectMode(d); m != ModeSerial {
		t.Errorf("mode %q, want serial from the CDC interface", m)
	}
	if root := fromDesc(&gousb.DeviceDesc{Bus: 2, Vendor: 0x1d6b, Product: 0x0003}); root.Path != "usb2" {
		t.Errorf("root hub path %q", root.Path)
	}
}

// TestLibusbList runs libusb on this machine: a container without USB
// lists nothing, a PC lists its devices; neither fails.
func TestLibusbList(t *testing.T) {
	l, err := NewLister("libusb", "")
	if err != nil {
		t.Fatal(err)
	}
	devs, err := l.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range devs {
		t.Logf("%s %s", d.Path, d)
	}
}
