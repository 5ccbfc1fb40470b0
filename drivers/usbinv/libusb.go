//go:build libusb && cgo

package usbinv

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/gousb"
)

// Libusb lists devices through libusb (github.com/google/gousb). Unlike
// sysfs it opens each device to read its string descriptors (a control
// transfer on endpoint 0, no interface is claimed), which also works where
// the operating system does not publish them. It needs cgo and libusb-1.0,
// hence the build tag.
type Libusb struct{}

func init() {
	registerBackend("libusb", func(string) Lister { return Libusb{} })
}

// List enumerates every device libusb can see.
func (Libusb) List(ctx context.Context) ([]Device, error) {
	uc := gousb.NewContext()
	defer uc.Close()
	var descs []*gousb.DeviceDesc
	devs, err := uc.OpenDevices(func(d *gousb.DeviceDesc) bool {
		descs = append(descs, d)
		return true
	})
	defer func() {
		for _, d := range devs {
			d.Close()
		}
	}()
	// An error here names devices that could not be opened (permissions);
	// they are still listed from their descriptors.
	_ = err
	opened := map[string]*gousb.Device{}
	for _, d := range devs {
		opened[descKey(d.Desc)] = d
	}
	out := make([]Device, 0, len(descs))
	for _, desc := range descs {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		dev := fromDesc(desc)
		if h, ok := opened[descKey(desc)]; ok {
			dev.Manufacturer, _ = h.Manufacturer()
			dev.Product, _ = h.Product()
			dev.Serial, _ = h.SerialNumber()
		}
		out = append(out, dev)
	}
	return out, nil
}

func descKey(d *gousb.DeviceDesc) string { return fmt.Sprintf("%d/%d", d.Bus, d.Address) }

// fromDesc converts a libusb device descriptor: identity, class and the
// interfaces of the first configuration (alternate setting 0).
func fromDesc(d *gousb.DeviceDesc) Device {
	path := make([]string, len(d.Path))
	for i, p := range d.Path {
		path[i] = fmt.Sprint(p)
	}
	dev := Device{
		Path:  fmt.Sprintf("%d-%s", d.Bus, strings.Join(path, ".")),
		VID:   uint16(d.Vendor),
		PID:   uint16(d.Product),
		Class: uint8(d.Class),
	}
	if len(d.Path) == 0 {
		dev.Path = fmt.Sprintf("usb%d", d.Bus)
	}
	first := -1
	for n := range d.Configs {
		if first < 0 || n < first {
			first = n
		}
	}
	if cfg, ok := d.Configs[first]; ok {
		for _, in := range cfg.Interfaces {
			if len(in.AltSettings) == 0 {
				continue
			}
			s := in.AltSettings[0]
			dev.Interfaces = append(dev.Interfaces, Interface{Number: uint8(in.Number), Class: uint8(s.Class), SubClass: uint8(s.SubClass), Protocol: uint8(s.Protocol)})
		}
	}
	return dev
}
