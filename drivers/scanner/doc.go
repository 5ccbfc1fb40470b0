// Package scanner is the driver for USB barcode scanners whose only
// non-intrusive signal is their presence: is the scanner enumerated with the
// expected vendor, product and serial number, and in the interface mode the
// POS expects (keyboard wedge, HID POS, serial, OEM)? A scanner that was
// switched to another mode (by scanning a programming barcode) changes its
// product id and interface, and the POS stops seeing scans: wrong_mode.
//
// It reads the USB inventory (drivers/usbinv) and never opens the scanner:
// a keyboard wedge belongs to the focused application.
package scanner
