package nci

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
)

// Answer is one NCI answer frame: LF [<weight><unit> CR LF] [S]<status> CR
// ETX, or LF ? CR ETX for a command the scale did not understand.
type Answer struct {
	Weight  string // the weight field with its unit, "" when only the status came
	Status  []byte // two or more status bytes, bit 7 cleared
	SCP02   bool   // the status carried the SCP-02 "S" prefix
	Unknown bool   // "?": the scale did not recognise the command
}

// Status bits (bit 0 = LSB), per byte. Bits 4 and 5 are always 1; byte 1
// bit 6 is always 0; bit 6 of byte 2 and later says another byte follows.
const (
	b1Motion = 0x01
	b1AtZero = 0x02
	b1RAM    = 0x04
	b1EEPROM = 0x08

	b2Under = 0x01
	b2Over  = 0x02
	b2ROM   = 0x04
	b2Cal   = 0x08

	b3Range     = 0x03 // 00 low range, 11 high range
	b3Net       = 0x04
	b3ZeroError = 0x08

	fixedOnes = 0x30
	follows   = 0x40
)

// maxStatus bounds the status bytes: scanner-scales send up to four.
const maxStatus = 4

// StatusBytes returns the positions of the status bytes in a frame (bit 7
// cleared): after the last LF and an SCP-02 "S", up to the closing CR ETX.
// The status-byte table defines bit 7 of each as its parity bit, so a scale
// on an 8-bit line may set it there and nowhere else (scale.StripParity).
// A frame that does not end in CR ETX has none.
func StatusBytes(f []byte) []int {
	end := len(f) - 2
	if end < 1 || f[end] != '\r' || f[end+1] != 0x03 {
		return nil
	}
	start := bytes.LastIndexByte(f[:end], '\n') + 1
	if start == 0 {
		return nil
	}
	if start < end && f[start] == 'S' {
		start++
	}
	var out []int
	for i := start; i < end; i++ {
		out = append(out, i)
	}
	return out
}

// ParseAnswer reads a frame (bit 7 already cleared) from LF to ETX.
func ParseAnswer(b []byte) (Answer, error) {
	var a Answer
	s := string(b)
	if !strings.HasPrefix(s, "\n") || !strings.HasSuffix(s, "\r\x03") || len(s) < 3 {
		return a, drivers.ProtocolError("not an NCI frame (LF … CR ETX): %q", b)
	}
	body := s[1 : len(s)-2]
	if body == "?" {
		a.Unknown = true
		return a, nil
	}
	parts := strings.Split(body, "\r\n")
	if len(parts) > 2 {
		return a, drivers.ProtocolError("NCI frame with %d parts, want weight and status or status alone: %q", len(parts), b)
	}
	st := parts[len(parts)-1]
	if len(parts) == 2 {
		a.Weight = parts[0]
		if a.Weight == "" {
			return a, drivers.ProtocolError("NCI frame with an empty weight field: %q", b)
		}
		for i := 0; i < len(a.Weight); i++ {
			if c := a.Weight[i]; c < 0x20 || c == 0x7F {
				return a, drivers.ProtocolError("NCI weight field %q has control byte 0x%02X", a.Weight, c)
			}
		}
	}
	// SCP-02 prefixes the status with "S"; 'S' (0x53) has bit 5 clear, so
	// it cannot be a status byte.
	if strings.HasPrefix(st, "S") {
		a.SCP02 = true
		st = st[1:]
	}
	if err := checkStatus([]byte(st)); err != nil {
		return a, fmt.Errorf("%w in %q", err, b)
	}
	a.Status = []byte(st)
	return a, nil
}

func checkStatus(st []byte) error {
	if len(st) < 2 || len(st) > maxStatus {
		return drivers.ProtocolError("%d status bytes (% X), want 2 to %d", len(st), st, maxStatus)
	}
	for i, c := range st {
		if c&fixedOnes != fixedOnes {
			return drivers.ProtocolError("status byte %d is 0x%02X: bits 4 and 5 must be 1", i+1, c)
		}
		last := i == len(st)-1
		switch {
		case i == 0 && c&follows != 0:
			return drivers.ProtocolError("status byte 1 is 0x%02X: bit 6 must be 0", c)
		case i > 0 && !last && c&follows == 0:
			return drivers.ProtocolError("status byte %d is 0x%02X but another follows: bit 6 must be 1", i+1, c)
		case i > 0 && last && c&follows != 0:
			return drivers.ProtocolError("status byte %d is 0x%02X: bit 6 announces a byte that did not come", i+1, c)
		}
	}
	return nil
}

var lbOz = regexp.MustCompile(`^\s*(-?)\s*(\d+)\s*lb\s+(\d+(?:\.\d+)?)\s*oz\s*$`)

// number and unit: "0001.25lb", "-001.25 kg", "0001.25LB".
var numberUnit = regexp.MustCompile(`^\s*([-+]?\s*\d+(?:\.\d*)?|[-+]?\s*\.\d+)\s*([A-Za-z]+)\s*$`)

// Status turns an answer into a scale status.
func Status(a Answer) (scale.Status, error) {
	st := scale.Status{Raw: raw(a)}
	if a.Unknown {
		return st, drivers.ProtocolError("the scale answered ? (command not recognised)")
	}
	b := a.Status
	if len(b) < 2 {
		return st, drivers.ProtocolError("answer without status bytes")
	}
	has := func(i int, mask byte) bool { return i < len(b) && b[i]&mask != 0 }
	st.Moving = has(0, b1Motion)
	st.AtZero = has(0, b1AtZero)
	st.UnderZero = has(1, b2Under)
	st.Overload = has(1, b2Over)
	st.ZeroError = has(2, b3ZeroError)
	for _, c := range []struct {
		byte int
		mask byte
		what string
	}{{0, b1RAM, "RAM error"}, {0, b1EEPROM, "EEPROM error"}, {1, b2ROM, "ROM error"}, {1, b2Cal, "faulty calibration"}} {
		if has(c.byte, c.mask) {
			st.Calibration = append(st.Calibration, c.what)
		}
	}
	if a.Weight == "" {
		return st, nil
	}
	w, unit, ok := parseWeight(a.Weight)
	switch {
	case ok && !scale.KnownUnit(unit):
		return st, drivers.ProtocolError("weight field %q has unit %q, want lb, kg, oz or g", a.Weight, unit)
	case ok:
		st.Weight, st.Unit, st.HasWeight = w, unit, true
	case st.Overload || st.UnderZero:
		// Out of range, the display shows marks instead of digits.
	default:
		return st, drivers.ProtocolError("weight field %q is not a number and a unit", a.Weight)
	}
	return st, nil
}

// parseWeight reads "0001.25lb" or the pounds-and-ounces form "02lb 12.5oz"
// (returned in pounds).
func parseWeight(s string) (float64, string, bool) {
	if m := lbOz.FindStringSubmatch(s); m != nil {
		lb, err1 := strconv.ParseFloat(m[2], 64)
		oz, err2 := strconv.ParseFloat(m[3], 64)
		if err1 != nil || err2 != nil {
			return 0, "", false
		}
		v := lb + oz/16
		if m[1] == "-" {
			v = -v
		}
		return v, "lb", true
	}
	m := numberUnit.FindStringSubmatch(s)
	if m == nil {
		return 0, "", false
	}
	v, err := strconv.ParseFloat(strings.ReplaceAll(m[1], " ", ""), 64)
	if err != nil {
		return 0, "", false
	}
	return v, m[2], true
}

func raw(a Answer) string {
	if a.Unknown {
		return "?"
	}
	s := fmt.Sprintf("status % X", a.Status)
	if a.SCP02 {
		s += " (SCP-02)"
	}
	if a.Weight != "" {
		s = a.Weight + ", " + s
	}
	return s
}

// LastAnswer reads the last whole answer (LF … CR ETX) in what the scale
// sent the POS application, answers to its own W (or S, Z), with bit 7
// checked and cleared for the line's parity as a probe's answer is. Only
// answers after an earlier answer's ETX count: an answer's weight and
// status are separated by CR LF, so the bytes before the first ETX may be
// the tail of one that reads as a status alone. Answers that do not parse
// (including "?") are skipped.
func LastAnswer(b []byte, parity string) (scale.Status, bool) {
	var ends []int
	for i := 1; i < len(b); i++ {
		if b[i]&0x7F == 0x03 && b[i-1]&0x7F == '\r' {
			ends = append(ends, i)
		}
	}
	for k := len(ends) - 1; k >= 1; k-- {
		from := ends[k-1] + 1
		lf := -1
		for i := from; i < ends[k]; i++ {
			if b[i]&0x7F == '\n' {
				lf = i
				break
			}
		}
		if lf < 0 {
			continue
		}
		frame, err := scale.StripParity(b[lf:ends[k]+1], parity, StatusBytes)
		if err != nil {
			continue
		}
		a, err := ParseAnswer(frame)
		if err != nil {
			continue
		}
		if st, err := Status(a); err == nil {
			return st, true
		}
	}
	return scale.Status{}, false
}
