package usbinv

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// Identity is what the inventory records of a device: the strings it
// reports, completed from the vendor and product tables.
func Identity(d Device) wire.Identity {
	id := wire.Identity{Vendor: d.Manufacturer, Model: d.Product, Serial: d.Serial, Extra: map[string]string{"usb_id": d.ID()}}
	if v, ok := vendors[d.VID]; ok && id.Vendor == "" {
		id.Vendor = v.Name
	}
	if p, ok := lookupProduct(d.VID, d.PID); ok && id.Model == "" {
		id.Model = p.Name
	}
	return id
}

// Recognition is what storeagent makes of a device.
type Recognition struct {
	Vendor  string
	Kind    string // receipt_printer, barcode_scanner, … or ""
	Model   string
	Mode    Mode
	Driver  string // the driver that fits, "" when none does
	Address string // an address for the config that survives replugs
	Note    string
}

// Recognise matches a device against the built-in tables.
func Recognise(d Device) Recognition {
	v, known := vendors[d.VID]
	id := Identity(d)
	r := Recognition{Vendor: id.Vendor, Model: id.Model, Kind: v.Kind}
	r.Mode, _ = DetectMode(d)
	serialAddr := fmt.Sprintf("serial://?usb=%s", d.ID())
	usbAddr := "usb://" + d.ID()
	if d.Serial != "" {
		serialAddr += "&usbserial=" + url.QueryEscape(d.Serial)
		usbAddr += "?serial=" + url.QueryEscape(d.Serial)
	}
	onSerial := r.Mode == ModeSerial || len(d.TTYs()) > 0
	switch {
	case r.Mode == ModeScale:
		r.Kind, r.Driver, r.Address = KindScale, "usbinv", usbAddr
		r.Note = "HID POS scale: presence only"
	case v.Kind == KindSerialBridge:
		r.Address = serialAddr
		r.Note = "USB-serial cable: the device behind it decides the driver (escpos, sics, nci, toledo, zvt, ssi)"
	case !known:
		r.Driver, r.Address = "usbinv", usbAddr
		if d.Class == ClassHub {
			r.Kind, r.Driver, r.Address = "usb_hub", "", ""
		}
	case onSerial && v.SerialDriver != "":
		r.Driver, r.Address = v.SerialDriver, serialAddr
	case v.Kind == KindScanner:
		r.Driver, r.Address = v.Driver, usbAddr
		r.Note = "presence and mode; set option mode to the mode the POS expects"
	default:
		r.Driver, r.Address = v.Driver, usbAddr
	}
	if r.Driver == "" && r.Address == serialAddr && !onSerial {
		r.Address = usbAddr
	}
	if d.Serial == "" && r.Address != "" {
		r.Note = strings.TrimPrefix(r.Note+"; no USB serial number: two such devices cannot be told apart", "; ")
	}
	return r
}
