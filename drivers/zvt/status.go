package zvt

import (
	"fmt"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// statusReady is the terminal status code of a terminal ready for payments.
const statusReady = 0x00

// Codes that mean "not now" rather than "broken": a terminal answering with
// them is in a transaction (or about to be) and must be left alone.
const (
	codePleaseWait          = 0x9C
	codeFunctionNotPossible = 0x83
)

// codeMeanings are the result / terminal status codes that matter for
// health (device-protocols.md 5.1, from kzvt's RC_* table). They appear in
// the completion of a Status Enquiry, in BMP 27 and in a negative
// acknowledge 84 xx.
var codeMeanings = map[byte]string{
	0x00: "PT ready",
	0x6B: "function deactivated (PT not registered)",
	0x6C: "abort via timeout or abort key",
	0x7D: "communication error",
	0x83: "function not possible",
	0x85: "key missing",
	0x89: "PIN pad defective",
	0x9A: "ZVT protocol error",
	0x9B: "error from dial-up/communication",
	0x9C: "please wait",
	0xA0: "receiver not ready",
	0xA1: "remote station does not respond",
	0xA3: "no connection",
	0xB1: "memory full",
	0xB2: "merchant journal full",
	0xBF: "voltage supply too low",
	0xC0: "card locking mechanism defective",
	0xC1: "merchant card locked",
	0xC2: "diagnosis required",
	0xC4: "card profile invalid",
	0xCC: "printer not ready",
	0xDC: "card inserted",
	0xDD: "error during card eject",
	0xDE: "error during card insertion",
	0xE0: "remote maintenance activated",
	0xE2: "card reader defective or does not answer",
	0xE3: "shutter closed",
	0xE4: "terminal activation required",
	0xF0: "open end-of-day batch (reconciliation required)",
	0xFA: "error in offline transactions",
	0xFC: "device not present",
	0xFF: "system error",
}

// codeFaults maps codes to the shared vocabulary. Every other non-zero code
// is pt_not_ready: the terminal says it cannot take payments, and the code's
// meaning travels in the fault's detail.
var codeFaults = map[byte]wire.FaultCode{
	0x6B: wire.FaultPTActivation,
	0xC2: wire.FaultPTActivation,
	0xE4: wire.FaultPTActivation,
	0x7D: wire.FaultPTHostUnreachable,
	0x9B: wire.FaultPTHostUnreachable,
	0xA1: wire.FaultPTHostUnreachable,
	0xA3: wire.FaultPTHostUnreachable,
	0xF0: wire.FaultPTReconciliation,
	0x89: wire.FaultPTHardware,
	0xBF: wire.FaultPTHardware,
	0xC0: wire.FaultPTHardware,
	0xCC: wire.FaultPTHardware,
	0xDD: wire.FaultPTHardware,
	0xDE: wire.FaultPTHardware,
	0xE2: wire.FaultPTHardware,
	0xFC: wire.FaultPTHardware,
}

// describe names a code for details and logs.
func describe(code byte) string {
	if m, ok := codeMeanings[code]; ok {
		return fmt.Sprintf("%02X %s", code, m)
	}
	return fmt.Sprintf("%02X (code not in the table)", code)
}

// isBusy reports whether a code says "not now": the terminal is in a
// transaction. Such a code is never a fault.
func isBusy(code byte) bool { return code == codePleaseWait || code == codeFunctionNotPossible }

// faultsFor maps a terminal status code; busy codes must be handled before.
func faultsFor(code byte) []wire.Fault {
	if code == statusReady {
		return nil
	}
	f, ok := codeFaults[code]
	if !ok {
		f = wire.FaultPTNotReady
	}
	return []wire.Fault{wire.NewFault(f, "terminal status "+describe(code))}
}

// completion is what the Status Enquiry's completion (06 0F) carries.
type completion struct {
	Status     byte
	Software   string // software version, when the terminal sent it
	TerminalID string // BMP 29, eight digits, when sent
	Unparsed   int    // trailing bytes of unknown fields, ignored
}

// parseCompletion reads the data block of 06 0F after a Status Enquiry:
//
//	[Fx Fy Fz <software version, LLL bytes>] <terminal status> [29 <TID, 4 bytes BCD>] [06 <TLV>] ...
//
// The software version's presence depends on the service byte; a real
// capture carried only the status byte (06 0F 01 DC). The fields after the
// status are read when recognised and otherwise left alone: section 10 of
// the reference marks the full layout as unconfirmed.
func parseCompletion(data []byte) (completion, error) {
	var c completion
	i := 0
	if n, ok := lllLength(data); ok && 3+n < len(data) {
		c.Software = printable(data[3 : 3+n])
		i = 3 + n
	}
	if i >= len(data) {
		return c, drivers.ProtocolError("zvt: completion % X carries no terminal status", data)
	}
	c.Status = data[i]
	i++
	for i < len(data) {
		switch data[i] {
		case 0x29:
			if i+5 > len(data) {
				return c, drivers.ProtocolError("zvt: completion: terminal id (BMP 29) cut short")
			}
			c.TerminalID = bcdDigits(data[i+1 : i+5])
			i += 5
		case 0x06:
			n, hdr, ok := tlvLength(data[i+1:])
			if !ok || i+1+hdr+n > len(data) {
				return c, drivers.ProtocolError("zvt: completion: TLV container (BMP 06) cut short")
			}
			i += 1 + hdr + n
		default:
			c.Unparsed = len(data) - i
			return c, nil
		}
	}
	return c, nil
}

// lllLength reads an LLL-var length: three bytes F0..F9 holding the digits.
func lllLength(b []byte) (int, bool) {
	if len(b) < 3 {
		return 0, false
	}
	n := 0
	for _, d := range b[:3] {
		if d < 0xF0 || d > 0xF9 {
			return 0, false
		}
		n = n*10 + int(d-0xF0)
	}
	return n, true
}

// tlvLength reads a BER-style TLV container length: one byte below 0x80,
// or 81 xx, or 82 xx xx. It returns the length and how many bytes it took.
func tlvLength(b []byte) (n, hdr int, ok bool) {
	switch {
	case len(b) >= 1 && b[0] < 0x80:
		return int(b[0]), 1, true
	case len(b) >= 2 && b[0] == 0x81:
		return int(b[1]), 2, true
	case len(b) >= 3 && b[0] == 0x82:
		return int(b[1])<<8 | int(b[2]), 3, true
	}
	return 0, 0, false
}

// bcdDigits renders packed BCD; nibbles above 9 (padding) are dropped.
func bcdDigits(b []byte) string {
	var sb strings.Builder
	for _, x := range b {
		for _, d := range []byte{x >> 4, x & 0x0F} {
			if d <= 9 {
				sb.WriteByte('0' + d)
			}
		}
	}
	return sb.String()
}

// printable keeps the ASCII part of a CP437 text; other bytes become '?'.
func printable(b []byte) string {
	out := make([]byte, len(b))
	for i, c := range b {
		if c >= 0x20 && c < 0x7F {
			out[i] = c
		} else {
			out[i] = '?'
		}
	}
	return strings.TrimSpace(string(out))
}
