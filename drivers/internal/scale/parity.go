package scale

import (
	"math/bits"

	"github.com/storewatch/storewatch/drivers"
)

// Strip7 returns a 7-bit protocol's frame with bit 7 cleared, after checking
// bit 7 as the parity bit of each character.
//
// NCI and Toledo 8213 scales send 7 data bits plus parity (7E1, 7O1). A UART
// set to the same framing strips the parity bit, so bit 7 arrives 0. A port
// read as 8 data bits, a serial-to-TCP converter, or a PTY hands the parity
// bit over in bit 7 instead. Either way the protocol's characters are the low
// seven bits, and when bit 7 is present it must be a consistent parity bit:
// otherwise the line settings are wrong or the line is noisy, and the bytes
// cannot be trusted.
//
// parity is the line's setting (E, O, M, S); N or "" means unknown, in which
// case the frame must be consistently even or odd. A frame with no bit 7 set
// at all is taken as already stripped.
func Strip7(frame []byte, parity string) ([]byte, error) {
	out := make([]byte, len(frame))
	any := false
	for i, b := range frame {
		out[i] = b & 0x7F
		any = any || b&0x80 != 0
	}
	if !any {
		return out, nil
	}
	ok := parityCheck(parity, frame[0])
	for i, b := range frame {
		if !ok(b) {
			return out, drivers.ProtocolError("parity error in byte %d of %d (0x%02X) on a line set to parity %s: check the line settings", i+1, len(frame), b, paritySaid(parity))
		}
	}
	return out, nil
}

// parityCheck returns the test each byte must pass; for an unknown parity it
// takes the first byte's.
func parityCheck(parity string, first byte) func(byte) bool {
	even := func(b byte) bool { return bits.OnesCount8(b)%2 == 0 }
	odd := func(b byte) bool { return bits.OnesCount8(b)%2 == 1 }
	switch parity {
	case "E":
		return even
	case "O":
		return odd
	case "M":
		return func(b byte) bool { return b&0x80 != 0 }
	case "S":
		return func(b byte) bool { return b&0x80 == 0 }
	}
	if even(first) {
		return even
	}
	return odd
}

func paritySaid(p string) string {
	if p == "" || p == "N" {
		return "none (the frame must then be consistently even or odd)"
	}
	return p
}
