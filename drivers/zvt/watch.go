package zvt

import (
	"fmt"
	"time"

	"github.com/storewatch/storewatch/drivers/transport/tap"
)

// A ZVT transaction on a serial line the POS application shares with the
// agent through a tap has long quiet gaps: after the ECR's command the
// terminal may say nothing for many seconds while the customer types the
// PIN or the host answers. The tap's idle gap would let the agent's Status
// Enquiry in there, and a terminal in a payment must never see it. So the
// tap follows the ECR's transactions with a TransactionWatcher and speaks
// only outside them.

func init() {
	tap.RegisterWatcher("zvt", func() tap.Watcher { return NewTransactionWatcher() })
}

// TransactionQuiet bounds a transaction the watcher has lost track of (the
// ECR died in the middle, a command that ends without a completion): after
// this long without a byte either way the line counts as free again.
const TransactionQuiet = 3 * time.Minute

// TransactionWatcher follows ZVT transactions on a serial line, from the
// ECR's command to the terminal's completion (06 0F) or abort (06 1E) and
// the ECR's acknowledge of it (80 00 00); a command the terminal refuses
// (84 xx, xx not 00) ends at once. Acknowledges of intermediate status in
// between do not end it. It implements tap.Watcher.
type TransactionWatcher struct {
	ecr, pt frameScanner
	state   txState
	command string // the running command's class and instruction
	last    time.Time
	// Quiet is TransactionQuiet unless set.
	Quiet time.Duration
}

type txState int

const (
	txIdle    txState = iota
	txRunning         // the ECR's command is being worked on
	txEnding          // completion or abort sent; the ECR's acknowledge is due
)

// NewTransactionWatcher returns a watcher of an idle line.
func NewTransactionWatcher() *TransactionWatcher {
	return &TransactionWatcher{Quiet: TransactionQuiet}
}

// Observe implements tap.Watcher.
func (w *TransactionWatcher) Observe(fromECR bool, p []byte, now time.Time) {
	w.last = now
	sc := &w.pt
	if fromECR {
		sc = &w.ecr
	}
	sc.feed(p, func(apdu []byte) { w.apdu(fromECR, apdu) })
}

func (w *TransactionWatcher) apdu(fromECR bool, a []byte) {
	if len(a) < 2 {
		return
	}
	class, instr := a[0], a[1]
	ack := class == 0x80 || class == 0x84
	switch {
	case fromECR && !ack:
		w.state, w.command = txRunning, fmt.Sprintf("%02X %02X", class, instr)
	case fromECR && w.state == txEnding:
		w.state = txIdle
	case !fromECR && w.state == txRunning && class == 0x06 && (instr == 0x0F || instr == 0x1E):
		w.state = txEnding
	case !fromECR && w.state == txRunning && class == 0x84 && instr != 0x00:
		w.state = txIdle // refused: the command is over
	}
}

// Within implements tap.Watcher.
func (w *TransactionWatcher) Within(now time.Time) (bool, string) {
	if w.state == txIdle || now.Sub(w.last) >= w.Quiet {
		return false, ""
	}
	return true, "a ZVT transaction (command " + w.command + ")"
}

// frameScanner picks the APDUs out of one direction of a serial ZVT line
// (DLE STX … DLE ETX CRC CRC, the ACK and NAK bytes between), a few bytes
// at a time. It checks no CRC: a damaged frame is sent again and seen
// twice, which changes no transaction state.
type frameScanner struct {
	st      int
	buf     []byte
	crcLeft int
}

const (
	scanOut   = iota // between frames
	scanDLE          // DLE between frames
	scanIn           // in a frame
	scanInDLE        // DLE in a frame
	scanCRC          // the CRC after DLE ETX
)

// maxFrame bounds a frame the scanner keeps (an APDU is at most 3 + 65535
// bytes; a status line is short). Longer: it waits for the next frame.
const maxFrame = 1 << 16

func (s *frameScanner) feed(p []byte, apdu func([]byte)) {
	for _, b := range p {
		switch s.st {
		case scanOut:
			if b == dle {
				s.st = scanDLE
			}
		case scanDLE:
			switch b {
			case stx:
				s.st, s.buf = scanIn, s.buf[:0]
			case dle: // a doubled CRC byte, then a frame
			default:
				s.st = scanOut
			}
		case scanIn:
			if b == dle {
				s.st = scanInDLE
			} else if len(s.buf) < maxFrame {
				s.buf = append(s.buf, b)
			}
		case scanInDLE:
			switch b {
			case dle:
				s.buf = append(s.buf, dle)
				s.st = scanIn
			case etx:
				apdu(s.buf)
				s.st, s.crcLeft = scanCRC, 2
			case stx: // a new frame: the last one broke off
				s.st, s.buf = scanIn, s.buf[:0]
			default:
				s.st = scanOut
			}
		case scanCRC:
			if s.crcLeft--; s.crcLeft == 0 {
				s.st = scanOut
			}
		}
	}
}
