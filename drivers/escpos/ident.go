package escpos

import (
	"fmt"

	"github.com/storewatch/storewatch/drivers"
)

// GS I answers. n = 1, 2, 3 give one byte each, whose bits 4 and 7 are
// always clear (pattern 0xx0xxxx). n = 65..69 ("printer information B") give
// a block: header 5F, ASCII text, NUL.
const (
	gsIModel    = 0x01
	gsIType     = 0x02
	gsIROM      = 0x03
	gsIFirmware = 0x41 // 65
	gsIMaker    = 0x42 // 66
	gsIName     = 0x43 // 67
	gsISerial   = 0x44 // 68
	gsIFont     = 0x45 // 69

	infoBHeader = 0x5F
	maxInfoB    = 82 // header + 80 characters + NUL; real answers are far shorter
)

// type ID bits (GS I 2).
const (
	typeMultiByte = 0x01
	typeCutter    = 0x02
	typeDMD       = 0x04 // customer display connected
)

// ParseIDByte checks a one-byte GS I answer.
func ParseIDByte(n, b byte) (byte, error) {
	if b&0x90 != 0 {
		return 0, drivers.ProtocolError("GS I %d answered %02X; one-byte IDs have bits 4 and 7 clear", n, b)
	}
	return b, nil
}

// ParseInfoB reads a GS I 65..69 block. A printer whose information is not
// ready sends only the header and NUL, which gives "".
func ParseInfoB(n byte, b []byte) (string, error) {
	if len(b) < 2 || b[0] != infoBHeader || b[len(b)-1] != 0 {
		return "", drivers.ProtocolError("GS I %d answered % X; want 5F, text, 00", n, b)
	}
	text := b[1 : len(b)-1]
	for _, c := range text {
		if c < 0x20 || c > 0x7E {
			return "", drivers.ProtocolError("GS I %d answered % X; byte %02X is not printable text", n, b, c)
		}
	}
	return string(text), nil
}

// describeType spells out the type ID for the identity's extra fields.
func describeType(t byte) string {
	s := fmt.Sprintf("0x%02X", t)
	if t&typeCutter != 0 {
		s += " autocutter"
	}
	if t&typeMultiByte != 0 {
		s += " multi-byte"
	}
	if t&typeDMD != 0 {
		s += " customer-display"
	}
	return s
}
