package ssi

import (
	"context"
	"fmt"
	"io"
	"sync"

	"github.com/storewatch/storewatch/devsim"
)

// Fault names beyond the common ones.
const (
	FaultNak         = "nak"
	FaultBadChecksum = "bad_checksum"
)

// Scanner is the emulated engine.
type Scanner struct {
	faults *devsim.Faults

	mu       sync.Mutex
	revision string
	received [][]byte
}

// New returns a scanner with a plausible revision string.
func New() *Scanner {
	return &Scanner{
		revision: "PAABLS00-002-R07 7 21",
		faults:   devsim.NewFaults(FaultNak, FaultBadChecksum, devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow),
	}
}

func init() {
	devsim.Register("ssi", func() devsim.Switchable { return New() })
}

// Switchboard returns the fault switches.
func (s *Scanner) Switchboard() *devsim.Faults { return s.faults }

// SetRevision changes what REPLY_REVISION says ("swrev boardtype enginecode").
func (s *Scanner) SetRevision(r string) {
	s.mu.Lock()
	s.revision = r
	s.mu.Unlock()
}

// Received returns the packets the host sent, checksum included.
func (s *Scanner) Received() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.received...)
}

// Serve answers host packets until the line closes.
func (s *Scanner) Serve(ctx context.Context, rw io.ReadWriter) error {
	var last []byte // for CMD_NAK resend from the host
	for {
		pkt, ok, err := s.readPacket(rw)
		if err != nil {
			if devsim.IsClosed(err) || ctx.Err() != nil {
				return nil
			}
			return err
		}
		if s.faults.On(devsim.FaultSilent) {
			continue
		}
		s.faults.Pause(ctx)
		if s.faults.On(devsim.FaultGarbage) {
			if _, err := rw.Write([]byte{0x00, 0x13, 0x37, 0x2A, 0xFF}); err != nil {
				return err
			}
			continue
		}
		var reply []byte
		switch {
		case !ok:
			reply = packet(0xD1, 0x01) // damaged: ask for it again
		case s.faults.On(FaultNak):
			reply = packet(0xD1, 0x06) // denied
		default:
			reply = s.answer(pkt, last)
		}
		if reply == nil {
			continue
		}
		last = reply
		if s.faults.On(FaultBadChecksum) {
			reply = append([]byte(nil), reply...)
			reply[len(reply)-1] ^= 0x5A
		}
		if _, err := rw.Write(reply); err != nil {
			return err
		}
	}
}

func (s *Scanner) answer(pkt, last []byte) []byte {
	switch pkt[1] {
	case 0xA3: // REQUEST_REVISION
		s.mu.Lock()
		rev := s.revision
		s.mu.Unlock()
		return packet(0xA4, []byte(rev)...)
	case 0xD0: // CMD_ACK: nothing to answer
		return nil
	case 0xD1: // CMD_NAK from the host
		if len(pkt) > 6 && pkt[4] == 0x01 && last != nil {
			return last
		}
		return nil
	default:
		return packet(0xD0)
	}
}

// readPacket reads one host packet; ok is false when its checksum is wrong.
func (s *Scanner) readPacket(r io.Reader) (pkt []byte, ok bool, err error) {
	var n [1]byte
	for {
		if _, err := io.ReadFull(r, n[:]); err != nil {
			return nil, false, err
		}
		if n[0] >= 4 {
			break
		}
		// Not a length: line noise, dropped.
	}
	pkt = make([]byte, int(n[0])+2)
	pkt[0] = n[0]
	if _, err := io.ReadFull(r, pkt[1:]); err != nil {
		return nil, false, err
	}
	s.mu.Lock()
	s.received = append(s.received, pkt)
	s.mu.Unlock()
	var sum int
	for _, b := range pkt[:len(pkt)-2] {
		sum += int(b)
	}
	want := (0x10000 - sum%0x10000) & 0xFFFF
	got := int(pkt[len(pkt)-2])<<8 | int(pkt[len(pkt)-1])
	return pkt, got == want, nil
}

// packet builds a decoder packet: source 00, status 00.
func packet(op byte, data ...byte) []byte {
	if len(data) > 250 {
		panic(fmt.Sprintf("ssi emulator: %d data bytes do not fit one packet", len(data)))
	}
	p := append([]byte{byte(4 + len(data)), op, 0x00, 0x00}, data...)
	sum := 0
	for _, b := range p {
		sum += int(b)
	}
	ck := (0x10000 - sum) & 0xFFFF
	return append(p, byte(ck>>8), byte(ck&0xFF))
}
