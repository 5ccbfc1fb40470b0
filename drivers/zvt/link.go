package zvt

import (
	"errors"
	"fmt"
	"io"

	"github.com/storewatch/storewatch/drivers"
)

// link carries APDUs: raw on TCP, framed with ACK/NAK on a serial line.
type link interface {
	send(APDU) error
	recv() (APDU, error)
}

// stepper starts an exchange: it gives what follows (a send and the
// answers it brings) a deadline of its own. nil means no per-exchange bound.
type stepper func() error

func (s stepper) step() error {
	if s == nil {
		return nil
	}
	return s()
}

// streamLink is TCP: APDUs go as they are.
type streamLink struct {
	rw   io.ReadWriter
	next stepper
}

func (l streamLink) send(a APDU) error {
	if err := l.next.step(); err != nil {
		return err
	}
	if _, err := l.rw.Write(a.Bytes()); err != nil {
		return fmt.Errorf("zvt: send %s: %w", a, err)
	}
	return nil
}

func (l streamLink) recv() (APDU, error) { return ReadAPDU(l.rw) }

// serialTries is how often a frame is sent (or NAKed) before giving up, as
// in PA00P016's repeat rule.
const serialTries = 3

// serialLink frames APDUs (DLE STX … DLE ETX CRC) and runs the one-byte
// ACK/NAK exchange for every frame.
type serialLink struct {
	c         io.ReadWriter
	escapeCRC bool
	next      stepper
}

func (l *serialLink) send(a APDU) error {
	if err := l.next.step(); err != nil {
		return err
	}
	frame := EncodeFrame(a.Bytes(), l.escapeCRC)
	for try := 1; try <= serialTries; try++ {
		if _, err := l.c.Write(frame); err != nil {
			return fmt.Errorf("zvt: send %s: %w", a, err)
		}
		b, err := readLinkByte(l.c)
		if err != nil {
			return fmt.Errorf("zvt: waiting for ACK of %s: %w", a, err)
		}
		switch b {
		case ack:
			return nil
		case nak:
			continue
		default:
			return drivers.ProtocolError("zvt: got %02X instead of ACK or NAK for %s", b, a)
		}
	}
	return drivers.ProtocolError("zvt: terminal refused frame %s %d times (NAK); check crc_escape and the line settings", a, serialTries)
}

func (l *serialLink) recv() (APDU, error) {
	for try := 1; ; try++ {
		body, err := ReadFrame(l.c)
		if errors.Is(err, errBadCRC) && try < serialTries {
			if _, werr := l.c.Write([]byte{nak}); werr != nil {
				return APDU{}, fmt.Errorf("zvt: send NAK: %w", werr)
			}
			continue
		}
		if errors.Is(err, errBadCRC) {
			return APDU{}, drivers.ProtocolError("%v (%d times)", err, serialTries)
		}
		if err != nil {
			return APDU{}, err
		}
		if _, err := l.c.Write([]byte{ack}); err != nil {
			return APDU{}, fmt.Errorf("zvt: send ACK: %w", err)
		}
		return ParseAPDU(body)
	}
}
