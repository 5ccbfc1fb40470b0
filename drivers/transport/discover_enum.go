//go:build linux || windows

package transport

import (
	"strings"

	"go.bug.st/serial"
	"go.bug.st/serial/enumerator"
)

// platformSerialPorts asks go.bug.st/serial's enumerator, which reads sysfs
// on Linux and SetupAPI on Windows without cgo. No probe filter is passed, so
// on Windows no device is actively queried for its strings: an active probe
// can disturb some devices, and the agent must never do that.
func platformSerialPorts() ([]SerialPort, error) {
	list, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, err
	}
	out := make([]SerialPort, 0, len(list))
	for _, p := range list {
		out = append(out, SerialPort{
			Name:         p.Name,
			USB:          p.IsUSB,
			VID:          strings.ToLower(p.VID),
			PID:          strings.ToLower(p.PID),
			Serial:       p.SerialNumber,
			Manufacturer: p.Manufacturer,
			Product:      p.Product,
		})
	}
	// The detailed list comes from SetupAPI's Ports class on Windows; a
	// port without such a device node (a virtual port, some POS vendors'
	// drivers, Wine's ports) is still in the system's own list (SERIALCOMM).
	if names, err := serial.GetPortsList(); err == nil {
		out = withPlainPorts(out, names)
	}
	return out, nil
}
