package zpl

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Control characters framing ZPL answers.
const (
	stx = 0x02
	etx = 0x03
)

// HostStatus is the ~HS answer: three framed strings (reference 2.2).
type HostStatus struct {
	// String 1
	Comm          int // aaa: 9-bit communication settings
	PaperOut      bool
	Paused        bool
	LabelLength   int // dots
	Formats       int // formats in the receive buffer
	BufferFull    bool
	CommDiag      bool
	PartialFormat bool
	CorruptRAM    bool
	UnderTemp     bool
	OverTemp      bool
	// String 2
	Function        int // mmm
	HeadUp          bool
	RibbonOut       bool
	ThermalTransfer bool
	PrintMode       string
	LabelWaiting    bool
	LabelsRemaining int
	Graphics        int
	// String 3
	StaticRAM bool
}

// frames splits STX ... ETX CR LF frames.
func frames(b []byte) ([][]byte, error) {
	var out [][]byte
	for len(b) > 0 {
		if b[0] != stx {
			return nil, drivers.ProtocolError("frame starts with %02X, want STX", b[0])
		}
		end := bytes.IndexByte(b, etx)
		if end < 0 {
			return nil, drivers.ProtocolError("frame without ETX")
		}
		body := b[1:end]
		if bytes.IndexByte(body, stx) >= 0 {
			return nil, drivers.ProtocolError("STX inside a frame")
		}
		out = append(out, body)
		b = b[end+1:]
		if !bytes.HasPrefix(b, []byte("\r\n")) {
			return nil, drivers.ProtocolError("frame not followed by CR LF")
		}
		b = b[2:]
	}
	return out, nil
}

// fieldReader reads comma-separated fields of fixed widths.
type fieldReader struct {
	name   string
	fields [][]byte
	i      int
	err    error
}

func (r *fieldReader) next(width int) []byte {
	if r.err != nil {
		return nil
	}
	if r.i >= len(r.fields) {
		r.err = drivers.ProtocolError("~HS %s: too few fields", r.name)
		return nil
	}
	f := r.fields[r.i]
	r.i++
	if len(f) != width {
		r.err = drivers.ProtocolError("~HS %s field %d: %q is not %d characters", r.name, r.i, f, width)
	}
	return f
}

func (r *fieldReader) num(width int) int {
	f := r.next(width)
	if r.err != nil {
		return 0
	}
	for _, c := range f {
		if c < '0' || c > '9' {
			r.err = drivers.ProtocolError("~HS %s field %d: %q is not a number", r.name, r.i, f)
			return 0
		}
	}
	n, _ := strconv.Atoi(string(f))
	return n
}

func (r *fieldReader) flag() bool {
	f := r.next(1)
	if r.err != nil {
		return false
	}
	if f[0] != '0' && f[0] != '1' {
		r.err = drivers.ProtocolError("~HS %s field %d: %q is not a 0/1 flag", r.name, r.i, f)
	}
	return f[0] == '1'
}

func (r *fieldReader) char() string {
	f := r.next(1)
	if r.err != nil {
		return ""
	}
	if f[0] < 0x20 || f[0] > 0x7E {
		r.err = drivers.ProtocolError("~HS %s field %d: %02X is not a character", r.name, r.i, f[0])
	}
	return string(f)
}

func (r *fieldReader) end() error {
	if r.err == nil && r.i != len(r.fields) {
		r.err = drivers.ProtocolError("~HS %s: %d fields, want %d", r.name, len(r.fields), r.i)
	}
	return r.err
}

// ParseHostStatus reads the three ~HS strings, frames included.
func ParseHostStatus(b []byte) (HostStatus, error) {
	var s HostStatus
	fr, err := frames(b)
	if err != nil {
		return s, err
	}
	if len(fr) != 3 {
		return s, drivers.ProtocolError("~HS: %d strings, want 3", len(fr))
	}
	r1 := &fieldReader{name: "string 1", fields: bytes.Split(fr[0], []byte(","))}
	s.Comm = r1.num(3)
	s.PaperOut = r1.flag()
	s.Paused = r1.flag()
	s.LabelLength = r1.num(4)
	s.Formats = r1.num(3)
	s.BufferFull = r1.flag()
	s.CommDiag = r1.flag()
	s.PartialFormat = r1.flag()
	r1.num(3) // unused, always 000
	s.CorruptRAM = r1.flag()
	s.UnderTemp = r1.flag()
	s.OverTemp = r1.flag()
	if err := r1.end(); err != nil {
		return s, err
	}
	if s.Comm > 0x1FF {
		return s, drivers.ProtocolError("~HS string 1: communication settings %03d do not fit 9 bits", s.Comm)
	}
	r2 := &fieldReader{name: "string 2", fields: bytes.Split(fr[1], []byte(","))}
	s.Function = r2.num(3)
	r2.num(1) // unused
	s.HeadUp = r2.flag()
	s.RibbonOut = r2.flag()
	s.ThermalTransfer = r2.flag()
	s.PrintMode = r2.char()
	r2.char() // print width mode
	s.LabelWaiting = r2.flag()
	s.LabelsRemaining = r2.num(8)
	r2.flag() // format while printing, always 1
	s.Graphics = r2.num(3)
	if err := r2.end(); err != nil {
		return s, err
	}
	r3 := &fieldReader{name: "string 3", fields: bytes.Split(fr[2], []byte(","))}
	r3.num(4) // password
	s.StaticRAM = r3.flag()
	if err := r3.end(); err != nil {
		return s, err
	}
	return s, nil
}

// Faults maps ~HS flags onto the shared vocabulary.
func (s HostStatus) Faults() []wire.Fault {
	var out []wire.Fault
	add := func(ok bool, code wire.FaultCode, detail string) {
		if ok {
			out = append(out, wire.NewFault(code, "~HS "+detail))
		}
	}
	add(s.PaperOut, wire.FaultPaperOut, "string 1 flag b: paper out")
	add(s.HeadUp, wire.FaultCoverOpen, "string 2 flag o: head up")
	add(s.RibbonOut, wire.FaultRibbonOut, "string 2 flag p: ribbon out")
	add(s.OverTemp, wire.FaultHeadOverheat, "string 1 flag l: over temperature")
	add(s.UnderTemp, wire.FaultHeadCold, "string 1 flag k: under temperature")
	add(s.Paused, wire.FaultPaused, "string 1 flag c: paused")
	add(s.BufferFull, wire.FaultBufferFull, "string 1 flag f: receive buffer full")
	add(s.CorruptRAM, wire.FaultConfigLost, "string 1 flag j: corrupt RAM, configuration lost")
	return out
}

// CommSettings spells out the aaa field: baud a8,a2..a0; a3 data bits; a4
// stop bits; a5 parity enable; a6 parity; a7 handshake.
func CommSettings(aaa int) string {
	bauds := []string{"110", "300", "600", "1200", "2400", "4800", "9600", "19200", "28800", "38400", "57600", "14400"}
	code := aaa&0x07 | (aaa>>8&1)<<3
	baud := "baud?"
	if code < len(bauds) {
		baud = bauds[code]
	}
	data, stop, parity, hs := "7", "2", "N", "Xon/Xoff"
	if aaa&0x08 != 0 {
		data = "8"
	}
	if aaa&0x10 != 0 {
		stop = "1"
	}
	if aaa&0x20 != 0 {
		parity = map[bool]string{true: "E", false: "O"}[aaa&0x40 != 0]
	}
	if aaa&0x80 != 0 {
		hs = "DTR"
	}
	return fmt.Sprintf("%s %s%s%s %s", baud, data, parity, stop, hs)
}
