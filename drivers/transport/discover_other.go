//go:build !linux && !windows

package transport

import (
	"errors"
	"runtime"
)

// platformSerialPorts: the enumerator needs cgo on darwin and is not
// supported elsewhere; storeagent targets Linux and Windows.
func platformSerialPorts() ([]SerialPort, error) {
	return nil, errors.New("listing serial ports by USB identity is not supported on " + runtime.GOOS)
}
