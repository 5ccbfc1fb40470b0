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
	return StripParity(frame, parity, nil)
}

// Carriers names the bytes of a frame (by position in the frame with bit 7
// cleared) whose bit 7 the protocol itself defines as that byte's parity
// bit: NCI's status-byte table lists bit 7 of each status byte as parity. A
// scale sending 8-bit characters then computes the parity of those bytes and
// of no other, so "B2 30" arrives for the status "32 30" while the weight
// and the frame's CR, LF and ETX come as plain ASCII.
type Carriers func(stripped []byte) []int

// StripParity is Strip7 for protocols whose carriers (see Carriers; nil for
// none) may carry their own parity bit. It accepts a frame when
//
//   - no byte has bit 7 set (a UART stripped the parity, or there is none);
//   - every byte has the line's parity (a 7-bit line read as 8 bits); or
//   - only carriers have bit 7 set, and every carrier has the line's parity
//     (the parity the protocol puts into the carriers themselves).
//
// A set bit 7 that fits none of these is a parity error, a protocol error
// naming the byte: a carrier with the wrong parity for the line (B0 for the
// status 30 on an even line) is as much an error as noise elsewhere in the
// frame. With parity N or "" the first byte that sets bit 7 tells the
// parity, and the others must agree.
func StripParity(frame []byte, parity string, carriers Carriers) ([]byte, error) {
	out := make([]byte, len(frame))
	first := -1
	for i, b := range frame {
		out[i] = b & 0x7F
		if b&0x80 != 0 && first < 0 {
			first = i
		}
	}
	if first < 0 {
		return out, nil
	}
	whole := parityCheck(parity, frame[0])
	bad := -1
	for i, b := range frame {
		if !whole(b) {
			bad = i
			break
		}
	}
	if bad < 0 {
		return out, nil
	}
	if carriers != nil {
		if i, ok := carriersOnly(frame, parity, carriers(out)); ok {
			return out, nil
		} else if i >= 0 {
			return out, drivers.ProtocolError("parity error in byte %d of %d (0x%02X), which carries its own parity bit, on a line set to parity %s: check the line settings", i+1, len(frame), frame[i], paritySaid(parity))
		}
	}
	return out, drivers.ProtocolError("parity error in byte %d of %d (0x%02X) on a line set to parity %s: check the line settings", bad+1, len(frame), frame[bad], paritySaid(parity))
}

// carriersOnly checks the third form of StripParity: bit 7 set on carriers
// only, each carrier with the line's parity. It returns ok, or the carrier
// that breaks the parity, or -1 when the frame is not of this form at all
// (bit 7 set outside the carriers).
func carriersOnly(frame []byte, parity string, pos []int) (int, bool) {
	isCarrier := make([]bool, len(frame))
	ref := -1
	for _, i := range pos {
		if i < 0 || i >= len(frame) {
			continue
		}
		isCarrier[i] = true
		if ref < 0 && frame[i]&0x80 != 0 {
			ref = i
		}
	}
	for i, b := range frame {
		if b&0x80 != 0 && !isCarrier[i] {
			return -1, false
		}
	}
	if ref < 0 {
		return -1, false
	}
	ok := parityCheck(parity, frame[ref])
	for i, b := range frame {
		if isCarrier[i] && !ok(b) {
			return i, false
		}
	}
	return 0, true
}

// parityCheck returns the test each byte must pass; for an unknown parity it
// takes the given byte's.
func parityCheck(parity string, ref byte) func(byte) bool {
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
	if even(ref) {
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
