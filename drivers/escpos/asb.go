package escpos

import (
	"fmt"

	"github.com/storewatch/storewatch/wire"
)

// ASB is one automatic status back (GS a n enables it): four bytes the
// printer sends by itself whenever an enabled status changes (reference
// 1.4). The POS application switches it on; on a serial line shared
// through the tap the agent hears it too.
type ASB [4]byte

// ASB bits (reference 1.4); byte 1 is 0xx1xx00, bytes 2-4 0xx0xxxx.
const (
	asb1DrawerHigh = 0x04
	asb1Offline    = 0x08
	asb1CoverOpen  = 0x20
	asb1FeedButton = 0x40

	asb2WaitingOnline   = 0x01
	asb2Recoverable     = 0x04
	asb2Cutter          = 0x08
	asb2Unrecoverable   = 0x20
	asb2AutoRecoverable = 0x40

	asb3NearEnd  = 0x03
	asb3PaperEnd = 0x0C
)

// isASBFirst: 0xx1xx00. isASBNext: 0xx0xxxx.
func isASBFirst(b byte) bool { return b&0x93 == 0x10 }
func isASBNext(b byte) bool  { return b&0x90 == 0 }

// LastASB finds the last whole ASB in what the printer sent (the POS
// application's share of the line). The stream also carries answers to the
// POS application's own questions, told apart as the reference's section
// 1.3 says: DLE EOT answers are 0xx1xx10 and one-byte GS I and GS r
// answers 0xx0xxxx, neither an ASB's first byte; the text blocks of GS I
// (3D … 00, 5F … 00) are skipped whole; XON and XOFF inside an ASB are
// not part of it.
func LastASB(b []byte) (ASB, bool) {
	var (
		last  ASB
		found bool
	)
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case c == 0x3D || c == 0x5F: // GS I block: to its NUL
			for i++; i < len(b) && b[i] != 0x00; i++ {
			}
		case isASBFirst(c):
			a := ASB{c}
			n, j := 1, i+1
			for ; j < len(b) && n < 4; j++ {
				switch {
				case b[j] == 0x11 || b[j] == 0x13: // XON, XOFF
				case isASBNext(b[j]):
					a[n] = b[j]
					n++
				default:
					j = len(b) + 1 // broken off: not an ASB
				}
			}
			if n == 4 {
				last, found = a, true
				i = j - 1
			}
		}
	}
	return last, found
}

func (a ASB) String() string { return fmt.Sprintf("ASB % X", a[:]) }

// Faults maps the ASB onto the same vocabulary as the DLE EOT status
// (reference 1.10, ASB column).
func (a ASB) Faults(drawer Drawer) []wire.Fault {
	b1, b2, b3 := a[0], a[1], a[2]
	c := conditions{
		coverOpen:       when(b1&asb1CoverOpen != 0, "ASB byte 1 = %02X (bit 5: cover open)", b1),
		paperOut:        when(b3&asb3PaperEnd != 0, "ASB byte 3 = %02X (bits 2,3: paper end)", b3),
		paperLow:        when(b3&asb3NearEnd != 0, "ASB byte 3 = %02X (bits 0,1: paper near end)", b3),
		cutter:          when(b2&asb2Cutter != 0, "ASB byte 2 = %02X (bit 3: autocutter error)", b2),
		recoverable:     when(b2&asb2Recoverable != 0, "ASB byte 2 = %02X (bit 2: recoverable error)", b2),
		autoRecoverable: when(b2&asb2AutoRecoverable != 0, "ASB byte 2 = %02X (bit 6: auto-recoverable error, e.g. head too hot)", b2),
		unrecoverable:   when(b2&asb2Unrecoverable != 0, "ASB byte 2 = %02X (bit 5: unrecoverable error)", b2),
		drawerHigh:      b1&asb1DrawerHigh != 0,
		drawerFrom:      fmt.Sprintf("ASB byte 1 = %02X", b1),
	}
	detail := ""
	switch {
	case b1&asb1FeedButton != 0:
		detail = ": paper feed button"
	case b2&asb2WaitingOnline != 0:
		detail = ": waiting for online recovery"
	}
	c.offline = when(b1&asb1Offline != 0, "ASB byte 1 = %02X (bit 3: offline)%s", b1, detail)
	return c.faults(drawer)
}
