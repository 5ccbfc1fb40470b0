package usbinv

import "fmt"

// Mode is the interface mode a device presents itself in.
type Mode string

// Modes. A scanner changes its PID with its mode, and presents a different
// interface: a keyboard wedge, a HID POS bar code scanner, a serial port.
const (
	ModeUnknown  Mode = ""
	ModeKeyboard Mode = "keyboard" // HID keyboard wedge
	ModeHIDPOS   Mode = "hid_pos"  // HID usage page 0x8C
	ModeSerial   Mode = "serial"   // CDC-ACM or vendor serial
	ModeOEM      Mode = "oem"      // IBM SurePOS, SNAPI, other vendor-defined HID
	ModeScale    Mode = "hid_scale"
	ModePrinter  Mode = "printer"
)

// ParseMode reads a configured mode, with the names vendors use.
func ParseMode(s string) (Mode, error) {
	switch s {
	case "keyboard", "hid_keyboard", "kbw":
		return ModeKeyboard, nil
	case "hid_pos", "hidpos":
		return ModeHIDPOS, nil
	case "serial", "cdc", "cdc_acm", "vcom":
		return ModeSerial, nil
	case "oem", "snapi", "surepos", "ibm":
		return ModeOEM, nil
	case "hid_scale":
		return ModeScale, nil
	case "printer":
		return ModePrinter, nil
	}
	return ModeUnknown, fmt.Errorf("mode %q: want keyboard, hid_pos, serial or oem", s)
}

// DetectMode says which mode a device presents and how that was found out.
// What the device shows (HID application usages, interface classes, serial
// ports) goes first; the product id table fills in when the interfaces do
// not tell (no HID descriptor readable, libusb without strings).
func DetectMode(d Device) (Mode, string) {
	var m Mode
	rank := 0
	var how string
	better := func(candidate Mode, r int, why string) {
		if r > rank {
			m, rank, how = candidate, r, why
		}
	}
	for _, in := range d.Interfaces {
		for _, u := range in.Usages {
			switch {
			case u.Page == PageBarcodeScanner:
				better(ModeHIDPOS, 6, fmt.Sprintf("interface %d is a HID POS bar code scanner (usage %s)", in.Number, u))
			case u.Page == PageScale:
				better(ModeScale, 5, fmt.Sprintf("interface %d is a HID POS scale (usage %s)", in.Number, u))
			case u.Page == PageGenericDesktop && u.ID == UsageKeyboard:
				better(ModeKeyboard, 4, fmt.Sprintf("interface %d is a HID keyboard (usage %s)", in.Number, u))
			case u.Page >= PageVendorFirst:
				better(ModeOEM, 2, fmt.Sprintf("interface %d is a vendor-defined HID device (usage %s)", in.Number, u))
			}
		}
		switch {
		case in.Class == ClassCDC || in.Class == ClassCDCData:
			better(ModeSerial, 3, fmt.Sprintf("interface %d is USB CDC", in.Number))
		case len(in.TTYs) > 0:
			better(ModeSerial, 3, fmt.Sprintf("interface %d provides %s", in.Number, in.TTYs[0]))
		case in.Class == ClassPrinter:
			better(ModePrinter, 3, fmt.Sprintf("interface %d is a USB printer", in.Number))
		}
	}
	if rank > 0 {
		return m, how
	}
	if p, ok := lookupProduct(d.VID, d.PID); ok && p.Mode != ModeUnknown {
		return p.Mode, fmt.Sprintf("product id %s means %s", d.ID(), p.Name)
	}
	return ModeUnknown, "neither the interfaces nor the product id tell the mode"
}
