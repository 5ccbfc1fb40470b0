package transport

import (
	"fmt"
	"strconv"
	"strings"

	"go.bug.st/serial"
)

// SerialMode is a line setting. Zero fields mean "use the driver's default".
type SerialMode struct {
	Baud     int
	DataBits int    // 7 or 8
	Parity   string // N, E, O, M, S
	StopBits string // 1, 1.5, 2
}

func (m SerialMode) String() string {
	return fmt.Sprintf("%d %d%s%s", m.Baud, m.DataBits, m.Parity, m.StopBits)
}

// Or returns m with its zero fields taken from def.
func (m SerialMode) Or(def SerialMode) SerialMode {
	if m.Baud == 0 {
		m.Baud = def.Baud
	}
	if m.DataBits == 0 {
		m.DataBits = def.DataBits
	}
	if m.Parity == "" {
		m.Parity = def.Parity
	}
	if m.StopBits == "" {
		m.StopBits = def.StopBits
	}
	return m
}

// Mode8N1 is 9600 8N1, the most common default.
var Mode8N1 = SerialMode{Baud: 9600, DataBits: 8, Parity: "N", StopBits: "1"}

// SerialMode reads baud, databits, parity and stopbits from the address,
// falling back to def for what it does not say.
func (a Address) SerialMode(def SerialMode) (SerialMode, error) {
	var m SerialMode
	if v := a.Query.Get("baud"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 50 || n > 4000000 {
			return m, fmt.Errorf("baud %q: want a rate such as 9600", v)
		}
		m.Baud = n
	}
	if v := a.Query.Get("databits"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 5 || n > 8 {
			return m, fmt.Errorf("databits %q: want 5 to 8", v)
		}
		m.DataBits = n
	}
	if v := a.Query.Get("parity"); v != "" {
		p := strings.ToUpper(v[:1])
		if !strings.Contains("NEOMS", p) {
			return m, fmt.Errorf("parity %q: want N, E, O, M or S", v)
		}
		m.Parity = p
	}
	if v := a.Query.Get("stopbits"); v != "" {
		if v != "1" && v != "1.5" && v != "2" {
			return m, fmt.Errorf("stopbits %q: want 1, 1.5 or 2", v)
		}
		m.StopBits = v
	}
	return m.Or(def), nil
}

func (m SerialMode) toLib() *serial.Mode {
	out := &serial.Mode{BaudRate: m.Baud, DataBits: m.DataBits}
	switch m.Parity {
	case "E":
		out.Parity = serial.EvenParity
	case "O":
		out.Parity = serial.OddParity
	case "M":
		out.Parity = serial.MarkParity
	case "S":
		out.Parity = serial.SpaceParity
	default:
		out.Parity = serial.NoParity
	}
	switch m.StopBits {
	case "1.5":
		out.StopBits = serial.OnePointFiveStopBits
	case "2":
		out.StopBits = serial.TwoStopBits
	default:
		out.StopBits = serial.OneStopBit
	}
	return out
}
