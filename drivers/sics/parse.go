package sics

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
)

// Line is one MT-SICS response line without its CR LF:
// "<ID> <status>[ <data>]", or a general error "ES", "ET", "EL".
type Line struct {
	ID     string // command the line answers: "S", "I4", "Z"; empty for general errors
	Status string // "A", "B", "S", "D", "I", "L", "+", "-"; the error for general errors
	Data   string // the rest, untrimmed
}

// General errors (whole line).
const (
	ErrSyntax       = "ES" // command not recognised
	ErrTransmission = "ET" // the scale received a garbled command (parity, break)
	ErrLogical      = "EL" // the command cannot be executed
)

var generalErrors = map[string]string{
	ErrSyntax:       "syntax error: command not recognised",
	ErrTransmission: "transmission error: the command arrived garbled",
	ErrLogical:      "logical error: the command cannot be executed",
}

// General reports whether the line is ES, ET or EL.
func (l Line) General() bool { return l.ID == "" }

func (l Line) String() string {
	if l.General() {
		return l.Status
	}
	return strings.TrimRight(l.ID+" "+l.Status+" "+l.Data, " ")
}

// ParseLine reads one response line (CR LF already removed, or still there).
// Everything MT-SICS sends is printable: command IDs are upper-case letters,
// digits and "@", statuses one or two characters. A line that does not fit
// is a protocol error.
func ParseLine(b []byte) (Line, error) {
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] == 0x7F {
			return Line{}, drivers.ProtocolError("MT-SICS line %q has control byte 0x%02X", s, s[i])
		}
	}
	if _, ok := generalErrors[s]; ok {
		return Line{Status: s}, nil
	}
	id, rest, ok := strings.Cut(s, " ")
	if !ok || !validID(id) {
		return Line{}, drivers.ProtocolError("not an MT-SICS answer: %q", s)
	}
	status, data, _ := strings.Cut(rest, " ")
	if status == "" || len(status) > 2 {
		return Line{}, drivers.ProtocolError("MT-SICS answer %q has no status", s)
	}
	return Line{ID: id, Status: status, Data: data}, nil
}

func validID(id string) bool {
	if id == "" || len(id) > 5 {
		return false
	}
	for _, r := range id {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '@') {
			return false
		}
	}
	return true
}

// Weight reads an answer to S or SI into a scale status:
//
//	S S <weight> <unit>   stable
//	S D <weight> <unit>   dynamic (moving)
//	S I                   not executable now: busy (taring, zeroing, another command)
//	S +                   overload
//	S -                   underload
//
// "S I" is not a reading at all: the scale is busy, which says nothing about
// the weight. It returns an error wrapping drivers.ErrBusy, so the poll is
// skipped; it never counts as motion and never becomes scale_unstable.
func Weight(l Line) (scale.Status, error) {
	st := scale.Status{Raw: l.String()}
	if l.General() {
		return st, commandError("S", l)
	}
	if l.ID != "S" {
		return st, drivers.ProtocolError("answer to a weight request is %q, not an S line", l)
	}
	switch l.Status {
	case "S", "D":
		f := strings.Fields(l.Data)
		if len(f) != 2 {
			return st, drivers.ProtocolError("weight line %q: want a value and a unit", l)
		}
		v, err := strconv.ParseFloat(f[0], 64)
		if err != nil || !scale.IsDecimal(f[0], true) {
			return st, drivers.ProtocolError("weight line %q: %q is not a number", l, f[0])
		}
		st.Weight, st.Unit, st.HasWeight = v, f[1], true
		st.Moving = l.Status == "D"
	case "I":
		if strings.TrimSpace(l.Data) != "" {
			return st, drivers.ProtocolError("weight line %q: unexpected data after status I", l)
		}
		return st, busy(l)
	case "+":
		st.Overload = true
	case "-":
		st.UnderZero = true
	default:
		return st, drivers.ProtocolError("weight line %q: unknown status %q", l, l.Status)
	}
	if st.HasWeight || strings.TrimSpace(l.Data) == "" {
		return st, nil
	}
	return st, drivers.ProtocolError("weight line %q: unexpected data after status %s", l, l.Status)
}

// busy is the error for an answer with status I: the command is not
// executable now.
func busy(l Line) error {
	return fmt.Errorf("%w: the scale answered %q (command not executable now: taring, zeroing or busy with another command); poll skipped", drivers.ErrBusy, l)
}

// ZeroResult is what a scale answered to Z.
type ZeroResult int

// Answers to Z.
const (
	Zeroed       ZeroResult = iota // Z A
	NotZeroed                      // Z I: not executable (moving, busy)
	ZeroRangeErr                   // Z + / Z -: outside the zero-setting range
)

// Zero reads the answer to Z.
func Zero(l Line) (ZeroResult, error) {
	if l.General() {
		return 0, commandError("Z", l)
	}
	if l.ID != "Z" {
		return 0, drivers.ProtocolError("answer to Z is %q", l)
	}
	switch l.Status {
	case "A":
		return Zeroed, nil
	case "I":
		return NotZeroed, nil
	case "+", "-":
		return ZeroRangeErr, nil
	}
	return 0, drivers.ProtocolError("answer to Z has unknown status: %q", l)
}

// Quoted returns the double-quoted strings of an answer's data:
// `"0123" "2.00" ""` gives ["0123", "2.00", ""].
func Quoted(data string) ([]string, error) {
	var out []string
	s := strings.TrimSpace(data)
	for s != "" {
		if s[0] != '"' {
			return nil, drivers.ProtocolError("expected a quoted string at %q", s)
		}
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return nil, drivers.ProtocolError("unterminated quoted string %q", s)
		}
		out = append(out, s[1:end+1])
		s = strings.TrimSpace(s[end+2:])
	}
	return out, nil
}

// Text reads an identification answer "<ID> A "<text>"" (I2, I3, I4, I5):
// ok is false when the scale does not implement the command (ES, or status
// L). Status I means the scale is busy and could not answer now: an error
// wrapping drivers.ErrBusy, so an identity read earlier is kept rather than
// replaced by an empty one.
func Text(id string, l Line) (text string, ok bool, err error) {
	if !l.General() && l.Status == "I" {
		return "", false, busy(l)
	}
	if l.General() || l.Status == "L" {
		return "", false, nil
	}
	if l.ID != id || l.Status != "A" {
		return "", false, drivers.ProtocolError("answer to %s is %q", id, l)
	}
	q, err := Quoted(l.Data)
	if err != nil {
		return "", false, fmt.Errorf("%s: %w", id, err)
	}
	if len(q) != 1 {
		return "", false, drivers.ProtocolError("answer to %s has %d quoted strings, want 1: %q", id, len(q), l)
	}
	return q[0], true, nil
}

// Balance is the I2 balance data, "<type> <capacity> <unit>" as in
// `"ICS469 OU 60.18 kg"`: the type may contain spaces, capacity and unit are
// the last two words.
type Balance struct {
	Type     string
	Capacity string // with unit: "60.18 kg"
}

// ParseBalance splits the I2 text. Text that does not end in a number and a
// unit is taken whole as the type.
func ParseBalance(text string) Balance {
	f := strings.Fields(text)
	if n := len(f); n >= 3 && scale.IsDecimal(f[n-2], false) && scale.KnownUnit(f[n-1]) {
		return Balance{Type: strings.Join(f[:n-2], " "), Capacity: f[n-2] + " " + f[n-1]}
	}
	return Balance{Type: strings.TrimSpace(text)}
}

// CommandList reads one line of an I0 answer: `I0 B <level> "<cmd>"` for
// each command but the last, then `I0 A` (with or without the last command).
// more is false on the closing line.
func CommandList(l Line) (cmd string, more bool, err error) {
	if l.General() || l.ID != "I0" {
		return "", false, drivers.ProtocolError("answer to I0 is %q", l)
	}
	switch l.Status {
	case "B", "A":
	case "I":
		return "", false, busy(l)
	default:
		return "", false, drivers.ProtocolError("I0 line with unknown status: %q", l)
	}
	more = l.Status == "B"
	data := strings.TrimSpace(l.Data)
	if data == "" {
		if more {
			return "", false, drivers.ProtocolError("I0 B line without a command: %q", l)
		}
		return "", false, nil
	}
	level, rest, _ := strings.Cut(data, " ")
	if _, err := strconv.Atoi(level); err != nil {
		return "", false, drivers.ProtocolError("I0 line %q: level %q is not a number", l, level)
	}
	q, err := Quoted(rest)
	if err != nil || len(q) != 1 || q[0] == "" {
		return "", false, drivers.ProtocolError("I0 line %q: want one quoted command", l)
	}
	return q[0], more, nil
}

// commandError explains a general error in answer to cmd.
func commandError(cmd string, l Line) error {
	return drivers.ProtocolError("scale answered %s to %s (%s)", l.Status, cmd, generalErrors[l.Status])
}

// LastWeight reads the last whole weight line (S S, S D, S +, S -) in what
// the scale sent the POS application: answers to its S and SI, or the
// stream SIR switched on. The bytes before the first CR LF may be the tail
// of a line and are skipped; so are lines that are not weights ("S I",
// other answers). Bit 7 is cleared (7-bit lines carry parity there).
func LastWeight(b []byte) (scale.Status, bool) {
	lines := strings.Split(string(clear7(b)), "\r\n")
	// lines[0] may be a tail; the last element is unterminated (or empty).
	for i := len(lines) - 2; i >= 1; i-- {
		l, err := ParseLine([]byte(lines[i]))
		if err != nil || l.ID != "S" {
			continue
		}
		if st, err := Weight(l); err == nil {
			return st, true
		}
	}
	return scale.Status{}, false
}

func clear7(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c & 0x7F
	}
	return out
}
