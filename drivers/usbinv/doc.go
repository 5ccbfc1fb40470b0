// Package usbinv is the USB inventory: it lists the USB devices of the store
// PC (vendor and product id, serial number, strings, interfaces, the serial
// ports and HID report descriptors behind them) and recognises retail
// devices among them. Its driver, "usbinv", raises device_missing when an
// expected device is not enumerated and unknown_device when it is there with
// another identity; the scanner driver builds on the same listing.
//
// Listing is pure Go by default: Linux sysfs with a configurable root, so
// tests run on fixture trees, and Windows SetupAPI through
// golang.org/x/sys/windows. Builds with -tags libusb (and cgo) add a
// libusb backend through github.com/google/gousb that reads the string
// descriptors from the devices themselves.
//
// Discover lists serial ports and USB devices together with what each one
// probably is and which driver would fit, for a "discover" command.
package usbinv
