package transport

import (
	"fmt"
	"os"
)

// openUSBNode opens a USB device node that the operating system already
// turned into a byte stream: the Linux printer-class driver (usblp) gives a
// printer /dev/usb/lpN, whose write() goes to the bulk-out endpoint and whose
// read() returns the printer's back channel (status answers). The node is
// opened as a plain file; Go's poller makes deadlines and Close interrupt a
// pending read where the driver supports poll(), which usblp does.
func openUSBNode(a Address) (Conn, error) {
	f, err := os.OpenFile(a.Path, os.O_RDWR, 0)
	if err != nil {
		if be := busyOpenError(a.Path, err); be != nil {
			return nil, be
		}
		return nil, fmt.Errorf("usb %s: %w: %w", a.Path, ErrUnreachable, err)
	}
	return f, nil
}

// dialUSBDevice opens usb://VID:PID addresses. Talking to an endpoint
// directly needs libusb; this build has none, so it says where to look.
var dialUSBDevice = func(a Address) (Conn, error) {
	return nil, fmt.Errorf("usb %s: %w: this build cannot open USB devices by VID:PID; use the printer's device node instead (usb:///dev/usb/lp0)", a.Host, ErrUnreachable)
}
