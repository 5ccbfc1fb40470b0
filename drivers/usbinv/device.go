package usbinv

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Device is one enumerated USB device.
type Device struct {
	// Path says where it is: the sysfs name (1-1.2) or the Windows
	// instance id.
	Path         string
	VID, PID     uint16
	Serial       string
	Manufacturer string
	Product      string
	Class        uint8 // bDeviceClass; 0 means "per interface"
	Interfaces   []Interface
}

// Interface is one interface of a device's active configuration.
type Interface struct {
	Number                    uint8
	Class, SubClass, Protocol uint8
	// Driver is the kernel (or Windows) driver bound to it, when known.
	Driver string
	// TTYs are the serial device nodes it provides (/dev/ttyACM0).
	TTYs []string
	// Printers are the printer-class nodes it provides (/dev/usb/lp0).
	Printers []string
	// Usages are the top-level HID application usages, from the report
	// descriptor (Linux) or the HID hardware ids (Windows).
	Usages []Usage
}

// USB interface classes used for recognition.
const (
	ClassCDC        = 0x02
	ClassHID        = 0x03
	ClassPrinter    = 0x07
	ClassHub        = 0x09
	ClassCDCData    = 0x0A
	ClassVendorSpec = 0xFF
)

// ID returns "vvvv:pppp" in lower-case hex.
func (d Device) ID() string { return fmt.Sprintf("%04x:%04x", d.VID, d.PID) }

func (d Device) String() string {
	s := d.ID()
	if d.Serial != "" {
		s += " serial " + d.Serial
	}
	if name := strings.TrimSpace(d.Manufacturer + " " + d.Product); name != "" {
		s += " (" + name + ")"
	}
	return s
}

// Usages returns the HID usages of all interfaces.
func (d Device) Usages() []Usage {
	var out []Usage
	for _, i := range d.Interfaces {
		out = append(out, i.Usages...)
	}
	return out
}

// TTYs returns the serial device nodes of all interfaces.
func (d Device) TTYs() []string {
	var out []string
	for _, i := range d.Interfaces {
		out = append(out, i.TTYs...)
	}
	return out
}

// PrinterNodes returns the printer-class device nodes of all interfaces.
func (d Device) PrinterNodes() []string {
	var out []string
	for _, i := range d.Interfaces {
		out = append(out, i.Printers...)
	}
	return out
}

// Lister lists the USB devices present now.
type Lister interface {
	List(ctx context.Context) ([]Device, error)
}

// ListerFunc adapts a function to Lister.
type ListerFunc func(ctx context.Context) ([]Device, error)

// List calls f.
func (f ListerFunc) List(ctx context.Context) ([]Device, error) { return f(ctx) }

// Backend builds a Lister; root is the sysfs root for the sysfs backend and
// ignored by the others.
type Backend func(root string) Lister

var (
	backendsMu sync.Mutex
	backends   = map[string]Backend{}
)

// registerBackend makes a backend selectable by name (option backend).
func registerBackend(name string, b Backend) {
	backendsMu.Lock()
	defer backendsMu.Unlock()
	backends[name] = b
}

// NewLister returns the named backend ("" for this platform's default:
// sysfs on Linux, setupapi on Windows).
func NewLister(backend, root string) (Lister, error) {
	if backend == "" {
		backend = defaultBackend
	}
	backendsMu.Lock()
	b, ok := backends[backend]
	names := make([]string, 0, len(backends))
	for n := range backends {
		names = append(names, n)
	}
	backendsMu.Unlock()
	if !ok {
		sort.Strings(names)
		return nil, fmt.Errorf("USB backend %q is not in this build (it has: %s)", backend, strings.Join(names, ", "))
	}
	return b(root), nil
}

// Match is what an address asks for: usb://VID:PID?serial=S.
type Match struct {
	VID, PID uint16
	Serial   string // empty: any
}

// ParseMatch reads "vvvv:pppp" and an optional serial number.
func ParseMatch(vidpid, serial string) (Match, error) {
	var m Match
	v, p, ok := strings.Cut(vidpid, ":")
	vid, err1 := parseHex16(v)
	pid, err2 := parseHex16(p)
	if !ok || err1 != nil || err2 != nil {
		return m, fmt.Errorf("USB identity %q: want VID:PID, four hex digits each", vidpid)
	}
	return Match{VID: vid, PID: pid, Serial: serial}, nil
}

func (m Match) String() string {
	s := fmt.Sprintf("%04x:%04x", m.VID, m.PID)
	if m.Serial != "" {
		s += " serial " + m.Serial
	}
	return s
}

// Find returns the devices with m's VID and PID (and serial, when set).
func Find(devs []Device, m Match) []Device {
	var out []Device
	for _, d := range devs {
		if d.VID == m.VID && d.PID == m.PID && (m.Serial == "" || strings.EqualFold(strings.TrimSpace(d.Serial), m.Serial)) {
			out = append(out, d)
		}
	}
	return out
}
