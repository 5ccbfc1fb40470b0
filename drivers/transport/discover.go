package transport

import (
	"fmt"
	"strings"
)

// SerialPort is one serial port the system knows, with the USB identity of
// the device behind it when it sits on USB (a CDC-ACM scanner, a USB-serial
// cable to a scale or payment terminal).
type SerialPort struct {
	Name         string // /dev/ttyUSB0, COM7
	USB          bool
	VID, PID     string // four lower-case hex digits each, "" when not USB
	Serial       string // the USB iSerial string; on Windows possibly synthetic
	Manufacturer string
	Product      string
}

// ListSerialPorts lists the serial ports of this machine. It uses
// go.bug.st/serial's enumerator where that works without cgo (Linux,
// Windows) and says so elsewhere.
func ListSerialPorts() ([]SerialPort, error) { return listSerialPorts() }

// listSerialPorts is a variable so tests can stand in a known list.
var listSerialPorts = platformSerialPorts

func init() {
	// Addresses such as serial://?usb=0403:6001&usbserial=A1B2C3 survive a
	// replug that renames COM7 to COM9 or ttyUSB0 to ttyUSB1.
	findSerialByUSB = func(vidpid, serialNo string) (string, error) {
		ports, err := listSerialPorts()
		if err != nil {
			return "", fmt.Errorf("serial usb=%s: %w: listing serial ports: %w", vidpid, ErrUnreachable, err)
		}
		return MatchSerialPort(ports, vidpid, serialNo)
	}
}

// withPlainPorts adds the ports named in names that ports lacks, as plain
// (not USB) serial ports, keeping the order of each list.
func withPlainPorts(ports []SerialPort, names []string) []SerialPort {
	have := map[string]bool{}
	for _, p := range ports {
		have[strings.ToUpper(p.Name)] = true
	}
	for _, n := range names {
		if n != "" && !have[strings.ToUpper(n)] {
			have[strings.ToUpper(n)] = true
			ports = append(ports, SerialPort{Name: n})
		}
	}
	return ports
}

// MatchSerialPort picks the one port whose USB identity is vidpid
// ("0403:6001") and, when serialNo is not empty, whose USB serial number is
// serialNo. No match, or more than one, is an error matching ErrUnreachable
// that lists what was seen, so a technician can correct the address.
func MatchSerialPort(ports []SerialPort, vidpid, serialNo string) (string, error) {
	vid, pid, ok := strings.Cut(vidpid, ":")
	if !ok || !isHex4(vid) || !isHex4(pid) {
		return "", fmt.Errorf("serial usb=%q: want VID:PID, four hex digits each (usb=0403:6001)", vidpid)
	}
	want := "usb=" + strings.ToLower(vidpid)
	if serialNo != "" {
		want += " usbserial=" + serialNo
	}
	var hits, seen []string
	for _, p := range ports {
		if !p.USB {
			continue
		}
		seen = append(seen, fmt.Sprintf("%s (usb=%s:%s usbserial=%s)", p.Name, strings.ToLower(p.VID), strings.ToLower(p.PID), p.Serial))
		if !strings.EqualFold(p.VID, vid) || !strings.EqualFold(p.PID, pid) {
			continue
		}
		if serialNo != "" && !strings.EqualFold(p.Serial, serialNo) {
			continue
		}
		hits = append(hits, p.Name)
	}
	switch len(hits) {
	case 1:
		return hits[0], nil
	case 0:
		if len(seen) == 0 {
			return "", fmt.Errorf("serial %s: %w: no USB serial port is connected", want, ErrUnreachable)
		}
		return "", fmt.Errorf("serial %s: %w: no such port; USB serial ports present: %s", want, ErrUnreachable, strings.Join(seen, ", "))
	default:
		return "", fmt.Errorf("serial %s: %w: %d ports match (%s); add usbserial= to the address to choose one", want, ErrUnreachable, len(hits), strings.Join(hits, ", "))
	}
}
