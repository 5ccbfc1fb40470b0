package zpl

import (
	"bytes"
	"fmt"
	"regexp"
	"strconv"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// ErrorStatus is the ~HQES answer: an error and a warning line, each a flag
// and two 8-hex-digit groups (reference 2.3).
type ErrorStatus struct {
	Errors, Warnings [2]uint32 // [0] = group 2 (nibbles 16-9), [1] = group 1 (nibbles 8-1)
}

// Column alignment differs between firmware editions and clones, so the
// lines are matched loosely on whitespace.
var hqesLine = regexp.MustCompile(`(ERRORS|WARNINGS):\s+([01])\s+([0-9A-Fa-f]{8})\s+([0-9A-Fa-f]{8})\s*$`)

// ParseErrorStatus reads an ~HQES answer, STX and ETX included.
func ParseErrorStatus(b []byte) (ErrorStatus, error) {
	var s ErrorStatus
	if len(b) < 2 || b[0] != stx || b[len(b)-1] != etx {
		return s, drivers.ProtocolError("~HQES answer is not framed by STX and ETX")
	}
	seen := map[string]bool{}
	for _, line := range bytes.Split(b[1:len(b)-1], []byte("\r\n")) {
		line = bytes.TrimSpace(line)
		if len(line) == 0 || string(line) == "PRINTER STATUS" {
			continue
		}
		m := hqesLine.FindSubmatch(line)
		if m == nil {
			return s, drivers.ProtocolError("~HQES line %q does not fit", line)
		}
		kind := string(m[1])
		if seen[kind] {
			return s, drivers.ProtocolError("~HQES has two %s lines", kind)
		}
		seen[kind] = true
		g2, _ := strconv.ParseUint(string(m[3]), 16, 32)
		g1, _ := strconv.ParseUint(string(m[4]), 16, 32)
		if (m[2][0] == '1') != (g1|g2 != 0) {
			return s, drivers.ProtocolError("~HQES %s flag %s disagrees with its bits %s %s", kind, m[2], m[3], m[4])
		}
		if kind == "ERRORS" {
			s.Errors = [2]uint32{uint32(g2), uint32(g1)}
		} else {
			s.Warnings = [2]uint32{uint32(g2), uint32(g1)}
		}
	}
	if !seen["ERRORS"] || !seen["WARNINGS"] {
		return s, drivers.ProtocolError("~HQES answer lacks the ERRORS or WARNINGS line")
	}
	return s, nil
}

type bitFault struct {
	mask uint32
	code wire.FaultCode
	what string
}

// Group 1 error bits (Zebra Programming Guide table "~HQES error flags";
// 0x1000 and up are the KR403 kiosk printer's).
var errorBits = []bitFault{
	{0x00000001, wire.FaultPaperOut, "media out"},
	{0x00000002, wire.FaultRibbonOut, "ribbon out"},
	{0x00000004, wire.FaultCoverOpen, "head open"},
	{0x00000008, wire.FaultCutterError, "cutter fault"},
	{0x00000010, wire.FaultHeadOverheat, "printhead over temperature"},
	{0x00000020, wire.FaultMotorOverheat, "motor over temperature"},
	{0x00000040, wire.FaultHeadFault, "bad printhead element"},
	{0x00000080, wire.FaultHeadFault, "printhead detection error"},
	{0x00000100, wire.FaultConfigLost, "invalid firmware configuration"},
	{0x00000200, wire.FaultHeadFault, "printhead thermistor open"},
	{0x00001000, wire.FaultPaperJam, "paper jam during retract"},
	{0x00002000, wire.FaultMechanicalError, "presenter not running"},
	{0x00004000, wire.FaultPaperJam, "paper feed error"},
	{0x00008000, wire.FaultPaperJam, "clear paper path failed"},
	{0x00010000, wire.FaultPaused, "paused"},
	{0x00020000, wire.FaultMechanicalError, "retract function timed out"},
	{0x00040000, wire.FaultMaintenanceDue, "black mark calibrate error"},
	{0x00080000, wire.FaultMaintenanceDue, "black mark not found"},
}

// ~HQES error bits for the two over temperatures.
const (
	errHeadHot  = 0x00000010
	errMotorHot = 0x00000020
)

// MotorHotOnly reports whether ~HQES says the motor, and not the print
// head, is over temperature: ~HS has one over-temperature flag for both, so
// its flag is then the motor's.
func (s ErrorStatus) MotorHotOnly() bool {
	return s.Errors[1]&errMotorHot != 0 && s.Errors[1]&errHeadHot == 0
}

// Group 1 warning bits; sensor bits 0x10..0x800 (KR403) carry no fault.
var warningBits = []bitFault{
	{0x00000001, wire.FaultMaintenanceDue, "need to calibrate media"},
	{0x00000002, wire.FaultMaintenanceDue, "clean printhead"},
	{0x00000004, wire.FaultMaintenanceDue, "replace printhead"},
	{0x00000008, wire.FaultPaperLow, "paper near end"},
}

// Faults maps the error and warning bits onto the shared vocabulary. Error
// bits this driver does not know still count: they become a
// mechanical_error naming the bits, so no error goes unseen.
func (s ErrorStatus) Faults() []wire.Fault {
	var out []wire.Fault
	known := uint32(0)
	for _, b := range errorBits {
		known |= b.mask
		if s.Errors[1]&b.mask != 0 {
			out = append(out, wire.NewFault(b.code, fmt.Sprintf("~HQES error %08X: %s", b.mask, b.what)))
		}
	}
	if unknown1, g2 := s.Errors[1]&^known, s.Errors[0]; unknown1 != 0 || g2 != 0 {
		out = append(out, wire.NewFault(wire.FaultMechanicalError, fmt.Sprintf("~HQES error bits %08X %08X not known to this driver", g2, unknown1)))
	}
	for _, b := range warningBits {
		if s.Warnings[1]&b.mask != 0 {
			out = append(out, wire.NewFault(b.code, fmt.Sprintf("~HQES warning %08X: %s", b.mask, b.what)))
		}
	}
	return out
}
