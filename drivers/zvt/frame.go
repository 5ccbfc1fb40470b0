package zvt

import (
	"errors"
	"fmt"
	"io"

	"github.com/storewatch/storewatch/drivers"
)

// Serial transport bytes (PA00P016).
const (
	stx = 0x02
	etx = 0x03
	dle = 0x10
	ack = 0x06
	nak = 0x15
)

// frameSkipLimit bounds how many stray bytes may precede DLE STX: leftovers
// of an escaped CRC (see ReadFrame) and line noise, not a stream of garbage.
const frameSkipLimit = 64

// errBadCRC marks a frame whose checksum does not match; the receiver
// answers NAK and the sender repeats the frame.
var errBadCRC = errors.New("zvt: frame checksum mismatch")

// kermit continues a CRC-16/KERMIT (reflected polynomial 0x8408, init 0,
// no final XOR) over data.
func kermit(crc uint16, data ...byte) uint16 {
	for _, b := range data {
		crc ^= uint16(b)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0x8408
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// crc16Kermit is the frame checksum: CRC-16/KERMIT over the un-escaped APDU
// followed by ETX.
func crc16Kermit(apdu []byte) uint16 { return kermit(kermit(0, apdu...), etx) }

// EncodeFrame wraps an APDU for the serial line: DLE STX, the APDU with every
// DLE doubled, DLE ETX, then the CRC low byte first.
//
// Whether the CRC bytes are DLE-doubled too is not settled by the sources
// (device-protocols.md section 10): Portalum.Zvt sends them as they are, and
// so does this driver by default (escapeCRC false). Option crc_escape: true
// doubles a CRC byte that equals DLE, for terminals that expect it.
func EncodeFrame(apdu []byte, escapeCRC bool) []byte {
	out := make([]byte, 0, len(apdu)+8)
	out = append(out, dle, stx)
	for _, b := range apdu {
		out = append(out, b)
		if b == dle {
			out = append(out, dle)
		}
	}
	out = append(out, dle, etx)
	crc := crc16Kermit(apdu)
	for _, b := range []byte{byte(crc), byte(crc >> 8)} {
		out = append(out, b)
		if escapeCRC && b == dle {
			out = append(out, dle)
		}
	}
	return out
}

// ReadFrame reads one frame and returns its un-escaped APDU bytes. A frame
// whose CRC does not match returns an error matching errBadCRC.
//
// The CRC bytes are accepted with or without DLE doubling: the CRC is known
// from the APDU before its bytes arrive, so a DLE that starts the CRC is
// taken as doubled only when the byte after it is a second DLE and not the
// expected high byte. The one case that cannot be told apart without waiting
// for bytes that may never come (a doubled high byte DLE) leaves a stray DLE
// behind, which the next ReadFrame skips while looking for DLE STX and the
// ACK reader skips too.
func ReadFrame(r io.Reader) ([]byte, error) {
	rd := byteReader{r: r}
	// Find DLE STX.
	var prev byte
	for skipped := 0; ; skipped++ {
		b, err := rd.next()
		if err != nil {
			return nil, readErr(err, skipped)
		}
		if prev == dle && b == stx {
			break
		}
		if skipped >= frameSkipLimit {
			return nil, drivers.ProtocolError("zvt: no frame start (DLE STX) in %d bytes", skipped)
		}
		prev = b
	}
	var body []byte
	for {
		b, err := rd.next()
		if err != nil {
			return nil, readErr(err, len(body)+2)
		}
		if b == dle {
			n, err := rd.next()
			if err != nil {
				return nil, readErr(err, len(body)+3)
			}
			switch n {
			case dle:
				// A doubled DLE is one data byte.
			case etx:
				return body, readCRC(&rd, body)
			default:
				return nil, drivers.ProtocolError("zvt: DLE followed by %02X inside a frame", n)
			}
		}
		body = append(body, b)
		if len(body) > 5+0xFFFF {
			return nil, drivers.ProtocolError("zvt: frame longer than any APDU")
		}
	}
}

func readCRC(rd *byteReader, body []byte) error {
	crc := crc16Kermit(body)
	lo, hi := byte(crc), byte(crc>>8)
	b, err := rd.next()
	if err != nil {
		return readErr(err, 1)
	}
	if b != lo {
		return fmt.Errorf("%w: APDU % X wants CRC %04X, low byte was %02X", errBadCRC, body, crc, b)
	}
	b, err = rd.next()
	if err != nil {
		return readErr(err, 1)
	}
	if b == hi {
		return nil
	}
	if lo == dle && b == dle {
		// The low byte was sent doubled; the high byte follows.
		if b, err = rd.next(); err != nil {
			return readErr(err, 1)
		}
		if b == hi {
			return nil
		}
	}
	return fmt.Errorf("%w: APDU % X wants CRC %04X, high byte was %02X", errBadCRC, body, crc, b)
}

// readLinkByte reads the receiver's one-byte answer to a frame (ACK or NAK),
// skipping DLE bytes left over from a doubled CRC byte.
func readLinkByte(r io.Reader) (byte, error) {
	rd := byteReader{r: r}
	for range 3 {
		b, err := rd.next()
		if err != nil {
			return 0, readErr(err, 0)
		}
		if b != dle {
			return b, nil
		}
	}
	return 0, drivers.ProtocolError("zvt: DLE bytes where ACK or NAK was due")
}

// byteReader reads one byte at a time so that nothing beyond the frame is
// consumed from the line.
type byteReader struct {
	r   io.Reader
	buf [1]byte
}

func (b *byteReader) next() (byte, error) {
	for {
		n, err := b.r.Read(b.buf[:])
		if n == 1 {
			return b.buf[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}
