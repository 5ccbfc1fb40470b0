package zvt

import (
	"errors"
	"fmt"
	"io"

	"github.com/storewatch/storewatch/drivers"
)

// APDU is one ZVT application message: CLASS, INSTR and the data block.
type APDU struct {
	Class, Instr byte
	Data         []byte
}

// Messages the driver sends or recognises.
var (
	ackAPDU = APDU{Class: 0x80, Instr: 0x00} // positive acknowledge, both directions
)

// Is reports whether the APDU has the given control field.
func (a APDU) Is(class, instr byte) bool { return a.Class == class && a.Instr == instr }

// Bytes encodes the APDU. A data block longer than 254 bytes gets the length
// FF followed by two bytes, low byte first.
func (a APDU) Bytes() []byte {
	out := []byte{a.Class, a.Instr}
	if n := len(a.Data); n < 0xFF {
		out = append(out, byte(n))
	} else {
		out = append(out, 0xFF, byte(n), byte(n>>8))
	}
	return append(out, a.Data...)
}

func (a APDU) String() string { return fmt.Sprintf("% X", a.Bytes()) }

// headerLen returns how many bytes the length field takes and the data
// length it announces, from the first bytes of an APDU. ok is false when
// more bytes are needed.
func headerLen(b []byte) (hdr, n int, ok bool) {
	if len(b) < 3 {
		return 0, 0, false
	}
	if b[2] != 0xFF {
		return 3, int(b[2]), true
	}
	if len(b) < 5 {
		return 0, 0, false
	}
	return 5, int(b[3]) | int(b[4])<<8, true
}

// ParseAPDU decodes exactly one APDU, as carried in a serial frame.
func ParseAPDU(b []byte) (APDU, error) {
	hdr, n, ok := headerLen(b)
	if !ok {
		return APDU{}, drivers.ProtocolError("zvt: APDU of %d bytes is shorter than its header", len(b))
	}
	if len(b) != hdr+n {
		return APDU{}, drivers.ProtocolError("zvt: APDU % X announces %d data bytes but carries %d", b[:hdr], n, len(b)-hdr)
	}
	return APDU{Class: b[0], Instr: b[1], Data: append([]byte(nil), b[hdr:]...)}, nil
}

// knownClass reports whether b is a ZVT APDU class: 04 (PT status), 05
// (status enquiry), 06 (commands, completion, abort), 08 (service), 80 and
// 84 (acknowledges). On TCP there is no frame to check, so a byte stream
// that starts otherwise is rejected at once instead of waiting for the
// data it seems to announce.
func knownClass(b byte) bool {
	switch b {
	case 0x04, 0x05, 0x06, 0x08, 0x80, 0x84:
		return true
	}
	return false
}

// ReadAPDU reads one APDU from a stream with no framing (TCP).
func ReadAPDU(r io.Reader) (APDU, error) {
	head := make([]byte, 3, 5)
	if _, err := io.ReadFull(r, head); err != nil {
		return APDU{}, readErr(err, 0)
	}
	if !knownClass(head[0]) {
		return APDU{}, drivers.ProtocolError("zvt: % X does not start a ZVT APDU", head)
	}
	if head[2] == 0xFF {
		head = head[:5]
		if _, err := io.ReadFull(r, head[3:]); err != nil {
			return APDU{}, readErr(err, 3)
		}
	}
	hdr, n, _ := headerLen(head)
	data := make([]byte, n)
	if _, err := io.ReadFull(r, data); err != nil {
		return APDU{}, readErr(fmt.Errorf("APDU % X announced %d data bytes: %w", head[:hdr], n, err), hdr)
	}
	return APDU{Class: head[0], Instr: head[1], Data: data}, nil
}

// readErr keeps timeouts and closed connections recognisable.
func readErr(err error, got int) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || (errors.Is(err, io.EOF) && got > 0) {
		return fmt.Errorf("zvt: connection closed mid-answer: %w", io.ErrUnexpectedEOF)
	}
	return fmt.Errorf("zvt: read: %w", err)
}
