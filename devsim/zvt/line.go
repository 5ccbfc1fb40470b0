package zvt

import (
	"errors"
	"fmt"
	"io"
)

// channel moves whole APDUs between PT and ECR.
type channel interface {
	receive() ([]byte, error)
	send(apdu []byte) error
}

// errLine is a damaged or unexpected transmission the PT survives.
var errLine = errors.New("line error")

func isLineError(err error) bool { return errors.Is(err, errLine) }

// reader reads single bytes with one byte of look-ahead.
type reader struct {
	r      io.Reader
	held   bool
	heldB  byte
	oneBuf [1]byte
}

func (r *reader) byte() (byte, error) {
	if r.held {
		r.held = false
		return r.heldB, nil
	}
	for {
		n, err := r.r.Read(r.oneBuf[:])
		if n == 1 {
			return r.oneBuf[0], nil
		}
		if err != nil {
			return 0, err
		}
	}
}

func (r *reader) peek() (byte, error) {
	b, err := r.byte()
	if err == nil {
		r.held, r.heldB = true, b
	}
	return b, err
}

func (r *reader) full(n int) ([]byte, error) {
	out := make([]byte, n)
	for i := range out {
		b, err := r.byte()
		if err != nil {
			return nil, err
		}
		out[i] = b
	}
	return out, nil
}

// rawChannel: TCP, APDUs back to back.
type rawChannel struct {
	in *reader
	w  io.Writer
}

func (c *rawChannel) receive() ([]byte, error) {
	head, err := c.in.full(3)
	if err != nil {
		return nil, err
	}
	n := int(head[2])
	if head[2] == 0xFF {
		ext, err := c.in.full(2)
		if err != nil {
			return nil, err
		}
		head = append(head, ext...)
		n = int(ext[0]) + 256*int(ext[1])
	}
	data, err := c.in.full(n)
	if err != nil {
		return nil, err
	}
	return append(head, data...), nil
}

func (c *rawChannel) send(a []byte) error {
	_, err := c.w.Write(a)
	return err
}

// Link-level bytes of the serial transport.
const (
	bDLE = 0x10
	bSTX = 0x02
	bETX = 0x03
	bACK = 0x06
	bNAK = 0x15
)

// kermitTable is CRC-16/KERMIT by table: reflected polynomial 0x8408.
var kermitTable = func() (t [256]uint16) {
	for i := range t {
		v := uint16(i)
		for k := 0; k < 8; k++ {
			if v&1 == 1 {
				v = (v >> 1) ^ 0x8408
			} else {
				v >>= 1
			}
		}
		t[i] = v
	}
	return
}()

// checksum covers the APDU and the closing ETX.
func checksum(a []byte) uint16 {
	var c uint16
	for _, b := range append(append([]byte{}, a...), bETX) {
		c = (c >> 8) ^ kermitTable[byte(c)^b]
	}
	return c
}

// serialChannel: DLE STX framing, each frame answered by ACK or NAK.
type serialChannel struct {
	in        *reader
	w         io.Writer
	escapeCRC bool
	// mute says the PT is dead to the line: frames get no ACK or NAK.
	mute func() bool
}

// receive reads one frame, answers ACK (or NAK on a bad checksum, after
// which the ECR repeats) and returns the APDU.
func (c *serialChannel) receive() ([]byte, error) {
	for {
		a, err := c.readFrame()
		if c.mute() {
			if err != nil && !isLineError(err) {
				return nil, err
			}
			continue
		}
		if err == nil {
			if _, err := c.w.Write([]byte{bACK}); err != nil {
				return nil, err
			}
			if len(a) < 3 {
				return nil, fmt.Errorf("%w: APDU % X too short", errLine, a)
			}
			return a, nil
		}
		if !isLineError(err) {
			return nil, err
		}
		if _, werr := c.w.Write([]byte{bNAK}); werr != nil {
			return nil, werr
		}
	}
}

func (c *serialChannel) readFrame() ([]byte, error) {
	// Wait for DLE STX, dropping anything else.
	for {
		b, err := c.in.byte()
		if err != nil {
			return nil, err
		}
		if b != bDLE {
			continue
		}
		if b, err = c.in.peek(); err != nil {
			return nil, err
		}
		if b == bSTX {
			c.in.held = false
			break
		}
	}
	var a []byte
	for {
		b, err := c.in.byte()
		if err != nil {
			return nil, err
		}
		if b == bDLE {
			next, err := c.in.byte()
			if err != nil {
				return nil, err
			}
			if next == bETX {
				break
			}
			if next != bDLE {
				return nil, fmt.Errorf("%w: DLE %02X in a frame", errLine, next)
			}
		}
		a = append(a, b)
	}
	var got [2]byte
	for i := range got {
		b, err := c.in.byte()
		if err != nil {
			return nil, err
		}
		if c.escapeCRC && b == bDLE {
			if second, err := c.in.byte(); err != nil {
				return nil, err
			} else if second != bDLE {
				return nil, fmt.Errorf("%w: CRC byte DLE not doubled", errLine)
			}
		}
		got[i] = b
	}
	if want := checksum(a); uint16(got[0])|uint16(got[1])<<8 != want {
		return nil, fmt.Errorf("%w: CRC %02X %02X, want %04X", errLine, got[0], got[1], want)
	}
	return a, nil
}

// send writes a frame and waits for the ECR's ACK, repeating on NAK.
func (c *serialChannel) send(a []byte) error {
	f := []byte{bDLE, bSTX}
	for _, b := range a {
		if b == bDLE {
			f = append(f, bDLE)
		}
		f = append(f, b)
	}
	f = append(f, bDLE, bETX)
	crc := checksum(a)
	for _, b := range []byte{byte(crc & 0xFF), byte(crc >> 8)} {
		if c.escapeCRC && b == bDLE {
			f = append(f, bDLE)
		}
		f = append(f, b)
	}
	for try := 0; try < 3; try++ {
		if _, err := c.w.Write(f); err != nil {
			return err
		}
		b, err := c.in.byte()
		if err != nil {
			return err
		}
		if b == bACK {
			return nil
		}
		if b != bNAK {
			return fmt.Errorf("zvt emulator: ECR answered a frame with %02X, want ACK or NAK", b)
		}
	}
	return fmt.Errorf("zvt emulator: ECR refused a frame three times")
}
