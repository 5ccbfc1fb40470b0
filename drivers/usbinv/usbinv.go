package usbinv

import (
	"context"
	"fmt"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "usbinv",
		Description: "any USB device: present with the expected vendor, product and serial number (no traffic to the device)",
		Kinds:       []string{"usb_device", KindPayment, KindScanner, KindScale, KindReceiptPrinter, KindLabelPrinter, KindCardReader},
		Schemes:     []string{"usb"},
		Faults:      []wire.FaultCode{wire.FaultDeviceMissing, wire.FaultUnknownDevice},
		Options:     SourceOptions,
		New:         New,
	})
}

// Source is a driver's view of the inventory: where to list devices and
// which device the address names. The scanner driver uses it too.
type Source struct {
	Lister Lister
	Match  Match
}

// SourceOptions are the options NewSource reads.
var SourceOptions = []drivers.Option{
	{Name: "backend", Type: drivers.OptionString, Doc: "sysfs (Linux), setupapi (Windows) or libusb (builds with -tags libusb); default the system's"},
	{Name: "sysfs_root", Type: drivers.OptionString, Default: "/sys", Doc: "another sysfs tree (a fixture, a host's /sys mounted in a container)"},
}

// NewSource reads the address (usb://VID:PID?serial=S) and the options
// backend (sysfs, setupapi, libusb) and sysfs_root (a fixture tree, or a
// host's /sys mounted elsewhere).
func NewSource(addr transport.Address, o *drivers.Options) (Source, error) {
	var s Source
	backend := o.String("backend", "")
	root := o.String("sysfs_root", "")
	if addr.Scheme != "usb" || addr.Host == "" {
		return s, fmt.Errorf("want a USB identity address such as usb://05e0:1200?serial=S123, not %s", addr)
	}
	m, err := ParseMatch(addr.Host, addr.Query.Get("serial"))
	if err != nil {
		return s, err
	}
	l, err := NewLister(backend, root)
	if err != nil {
		return s, err
	}
	return Source{Lister: l, Match: m}, nil
}

// Lookup lists the devices and returns the ones the address names, with
// how many devices were listed in all.
func (s Source) Lookup(ctx context.Context) (hits []Device, all []Device, err error) {
	all, err = s.Lister.List(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("usb inventory: %w", err)
	}
	return Find(all, s.Match), all, nil
}

// Missing is the device_missing fault for a match not enumerated.
func Missing(m Match, listed int) wire.Fault {
	return wire.NewFault(wire.FaultDeviceMissing, fmt.Sprintf("USB device %s is not connected (%d USB devices present)", m, listed))
}

// Driver checks one device's presence and identity.
type Driver struct {
	src      Source
	expected *wire.Identity
}

// New builds the usbinv driver. Options: backend, sysfs_root.
func New(spec drivers.Spec) (drivers.Prober, error) {
	src, err := NewSource(spec.Address, &spec.Options)
	if err := spec.Options.Err(); err != nil {
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	return &Driver{src: src, expected: spec.Expected}, nil
}

// Probe lists the USB devices and looks for this one.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	start := time.Now()
	hits, all, err := d.src.Lookup(ctx)
	if err != nil {
		return drivers.Reading{}, err
	}
	r := drivers.Reading{Measurements: map[string]float64{"list_ms": float64(time.Since(start).Microseconds()) / 1000}}
	if len(hits) == 0 {
		r.Faults = []wire.Fault{Missing(d.src.Match, len(all))}
		r.Detail = "not enumerated"
		return r, nil
	}
	dev := hits[0]
	id := Identity(dev)
	r.Identity = &id
	r.Detail = "present: " + dev.String()
	if len(hits) > 1 {
		r.Detail += fmt.Sprintf("; %d devices match, add ?serial= to the address to name one", len(hits))
	}
	if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
		r.Faults = append(r.Faults, f)
	}
	return r, nil
}

// Identify returns the identity of the device the address names.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	hits, all, err := d.src.Lookup(ctx)
	if err != nil {
		return wire.Identity{}, err
	}
	if len(hits) == 0 {
		return wire.Identity{}, fmt.Errorf("USB device %s is not connected (%d USB devices present)", d.src.Match, len(all))
	}
	return Identity(hits[0]), nil
}
