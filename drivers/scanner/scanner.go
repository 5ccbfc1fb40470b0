package scanner

import (
	"context"
	"fmt"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/wire"
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "scanner",
		Description: "USB barcode scanners (Zebra, Honeywell, Datalogic, Newland, ...): presence and interface mode, without opening the device",
		Kinds:       []string{"barcode_scanner"},
		Schemes:     []string{"usb"},
		Faults:      []wire.FaultCode{wire.FaultDeviceMissing, wire.FaultWrongMode, wire.FaultUnknownDevice},
		Options: append([]drivers.Option{
			{Name: "mode", Type: drivers.OptionString, Default: "any", Doc: "the mode the POS expects: keyboard (hid_keyboard, kbw), hid_pos (hidpos), serial (cdc, cdc_acm, vcom), oem (snapi, surepos, ibm) or any"},
		}, usbinv.SourceOptions...),
		New: New,
	})
}

// Driver checks one scanner.
type Driver struct {
	src      usbinv.Source
	mode     usbinv.Mode // ModeUnknown: any mode is fine
	expected *wire.Identity
}

// New builds the driver. Options: mode (keyboard, hid_pos, serial, oem, or
// any), backend and sysfs_root as for usbinv.
func New(spec drivers.Spec) (drivers.Prober, error) {
	o := &spec.Options
	src, srcErr := usbinv.NewSource(spec.Address, o)
	var mode usbinv.Mode
	if s := o.String("mode", "any"); s != "any" {
		m, err := usbinv.ParseMode(s)
		if err != nil {
			o.Fail("option %v", err)
		}
		mode = m
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if srcErr != nil {
		return nil, srcErr
	}
	return &Driver{src: src, mode: mode, expected: spec.Expected}, nil
}

// Probe looks for the scanner and its mode.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	all, err := d.src.Lister.List(ctx)
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("scanner: usb inventory: %w", err)
	}
	dev, note, ok := locate(all, d.src.Match)
	if !ok {
		return drivers.Reading{Faults: []wire.Fault{usbinv.Missing(d.src.Match, len(all))}, Detail: "not enumerated"}, nil
	}
	mode, why := usbinv.DetectMode(dev)
	id := usbinv.Identity(dev)
	if mode != usbinv.ModeUnknown {
		id.Extra["mode"] = string(mode)
	}
	r := drivers.Reading{Identity: &id, Detail: fmt.Sprintf("present: %s; mode %s (%s)%s", dev, orUnknown(mode), why, note)}
	if d.mode != usbinv.ModeUnknown && mode != usbinv.ModeUnknown && mode != d.mode {
		r.Faults = append(r.Faults, wire.NewFault(wire.FaultWrongMode,
			fmt.Sprintf("configured %s, the scanner presents itself as %s: %s%s", d.mode, mode, why, note)))
	}
	if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
		r.Faults = append(r.Faults, f)
	}
	return r, nil
}

// Identify returns the scanner's identity.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	r, err := d.Probe(ctx)
	if err != nil {
		return wire.Identity{}, err
	}
	if r.Identity == nil {
		return wire.Identity{}, fmt.Errorf("scanner %s is not connected", d.src.Match)
	}
	return *r.Identity, nil
}

// locate finds the configured scanner. A mode switch changes the product
// id, so a scanner not found under its configured VID:PID is looked for
// under its vendor id: by serial number when the address has one, or as the
// only device of that vendor.
func locate(all []usbinv.Device, m usbinv.Match) (usbinv.Device, string, bool) {
	if hits := usbinv.Find(all, m); len(hits) > 0 {
		return hits[0], "", true
	}
	var same []usbinv.Device
	for _, d := range all {
		if d.VID != m.VID {
			continue
		}
		if m.Serial != "" {
			if hits := usbinv.Find([]usbinv.Device{d}, usbinv.Match{VID: d.VID, PID: d.PID, Serial: m.Serial}); len(hits) == 1 {
				return d, fmt.Sprintf("; found by serial number with product id %04x instead of %04x: the mode was switched", d.PID, m.PID), true
			}
			continue
		}
		same = append(same, d)
	}
	if len(same) == 1 {
		return same[0], fmt.Sprintf("; the only %04x device, with product id %04x instead of %04x: the mode was switched", m.VID, same[0].PID, m.PID), true
	}
	return usbinv.Device{}, "", false
}

func orUnknown(m usbinv.Mode) string {
	if m == usbinv.ModeUnknown {
		return "unknown"
	}
	return string(m)
}
