//go:build !linux

package transport

// Elsewhere serial ports are opened with go.bug.st/serial (serial_linux.go
// says why Linux is different).

type nativeSerial struct {
	Conn   // never set: there is no native serial port here
	unlock func()
}

const haveNativeSerial = false

func openNative(string, SerialMode, bool) (*nativeSerial, error) {
	panic("no native serial ports here")
}

func (c *nativeSerial) flushInput() {}
