package usbinv

// vendor is what the built-in table knows of a USB vendor id: the retail
// device makers storeagent supports, and the USB-serial bridges that sit in
// front of scales, scanners and terminals. Names are from usb.ids
// (Debian hwdata 0.368).
type vendor struct {
	Name string
	Kind string // device kind, "" when the vendor makes many kinds
	// Driver fits the vendor's devices on USB; SerialDriver when the
	// device shows up as a serial port.
	Driver, SerialDriver string
}

// Kinds of device.
const (
	KindReceiptPrinter = "receipt_printer"
	KindLabelPrinter   = "label_printer"
	KindScanner        = "barcode_scanner"
	KindPayment        = "payment_terminal"
	KindScale          = "scale"
	KindSerialBridge   = "usb_serial"
	KindCardReader     = "card_reader"
)

var vendors = map[uint16]vendor{
	0x04b8: {"Seiko Epson", KindReceiptPrinter, "escpos", "escpos"},
	0x0519: {"Star Micronics", KindReceiptPrinter, "escpos", "escpos"},
	0x1504: {"Bixolon", KindReceiptPrinter, "escpos", "escpos"},
	0x1d90: {"Citizen", KindReceiptPrinter, "escpos", "escpos"},
	0x0dd4: {"Custom Engineering", KindReceiptPrinter, "escpos", "escpos"},
	0x154f: {"SNBC", KindReceiptPrinter, "escpos", "escpos"},
	0x0a5f: {"Zebra Technologies", KindLabelPrinter, "zpl", "zpl"},
	0x05e0: {"Zebra (Symbol)", KindScanner, "scanner", "ssi"},
	0x0c2e: {"Honeywell (Metrologic)", KindScanner, "scanner", "scanner"},
	0x0536: {"Honeywell (Hand Held Products)", KindScanner, "scanner", "scanner"},
	0x05f9: {"Datalogic (PSC)", KindScanner, "scanner", "scanner"},
	0x1eab: {"Newland", KindScanner, "scanner", "scanner"},
	0x0b00: {"Ingenico", KindPayment, "usbinv", "zvt"},
	0x0f14: {"Ingenico", KindPayment, "usbinv", "zvt"},
	0x11ca: {"VeriFone", KindPayment, "usbinv", "zvt"},
	0x0eb8: {"Mettler Toledo", KindScale, "usbinv", "sics"},
	0x0c27: {"RFIDeas", KindCardReader, "usbinv", ""},
	0x0801: {"MagTek", KindCardReader, "usbinv", ""},
	0x0403: {"FTDI", KindSerialBridge, "", ""},
	0x067b: {"Prolific", KindSerialBridge, "", ""},
	0x10c4: {"Silicon Labs", KindSerialBridge, "", ""},
	0x1a86: {"QinHeng (CH340)", KindSerialBridge, "", ""},
}

// product is what the table knows of one product id.
type product struct {
	Name string
	Mode Mode // the interface mode this PID means, "" when it does not say
}

// products: the scanner PIDs that name a mode (device-protocols.md 4.2).
var products = map[[2]uint16]product{
	{0x05e0, 0x0700}: {"CS1504", ""},
	{0x05e0, 0x1200}: {"Bar Code Scanner", ""},
	{0x05e0, 0x1701}: {"Bar Code Scanner (CDC)", ModeSerial},
	{0x05e0, 0x1900}: {"SNAPI Imaging Device", ModeOEM},
	{0x05e0, 0x1a00}: {"CS4070", ""},
	{0x0c2e, 0x0007}: {"MS7120 (IBM SurePOS mode)", ModeOEM},
	{0x0c2e, 0x0200}: {"MS7120", ""},
	{0x0c2e, 0x0204}: {"MS7120 (keyboard mode)", ModeKeyboard},
	{0x0c2e, 0x0700}: {"uni-directional serial", ModeSerial},
	{0x0c2e, 0x0720}: {"bi-directional serial", ModeSerial},
	{0x0c2e, 0x0a64}: {"Stratos 2700", ""},
	{0x0c2e, 0x0b61}: {"Vuquest 3310g", ""},
	{0x0c2e, 0x0b81}: {"Voyager 1400g", ""},
	{0x0536, 0x01ca}: {"IT4800 Area Imager", ""},
	{0x05f9, 0x1104}: {"Magellan 2200VS", ""},
	{0x05f9, 0x1206}: {"Gryphon (OEM mode)", ModeOEM},
	{0x05f9, 0x2206}: {"Gryphon (keyboard emulation)", ModeKeyboard},
	{0x05f9, 0x2601}: {"Magellan 1000i", ""},
	{0x05f9, 0x2602}: {"Magellan 1100i", ""},
	{0x05f9, 0x4204}: {"Gryphon (RS-232 emulation)", ModeSerial},
	{0x05f9, 0x5204}: {"GFS4170 (config mode)", ""},
	{0x11ca, 0x0201}: {"MX870/MX880", ""},
	{0x11ca, 0x0207}: {"VX 810 PIN pad", ""},
	{0x11ca, 0x0220}: {"VX 805 PIN pad", ""},
}

// lookupProduct knows the table and Newland's rule: the low byte of the
// PID is the mode (03 keyboard, 06 CDC serial, 10 HID POS).
func lookupProduct(vid, pid uint16) (product, bool) {
	if p, ok := products[[2]uint16{vid, pid}]; ok {
		return p, true
	}
	if vid == 0x1eab {
		switch pid & 0xFF {
		case 0x03:
			return product{"HID keyboard", ModeKeyboard}, true
		case 0x06:
			return product{"USB serial (CDC)", ModeSerial}, true
		case 0x10:
			return product{"HID POS", ModeHIDPOS}, true
		}
	}
	return product{}, false
}
