package ssi

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/storewatch/storewatch/drivers"
)

// Opcodes used by the probe (device-protocols.md 4.4).
const (
	opRequestRevision = 0xA3
	opReplyRevision   = 0xA4
	opCmdAck          = 0xD0
	opCmdNak          = 0xD1
)

// Message sources.
const (
	sourceDecoder = 0x00
	sourceHost    = 0x04
)

// CMD_NAK reasons.
var nakReasons = map[byte]string{0x01: "resend", 0x02: "bad context", 0x06: "denied"}

// Packet is one SSI message:
//
//	[len][opcode][source][status][data...][cksum hi][cksum lo]
//
// len counts the bytes before the checksum; the checksum is the 16-bit two's
// complement of the sum of those bytes, high byte first.
type Packet struct {
	Opcode, Source, Status byte
	Data                   []byte
}

// hostPacket is a packet from the host with status 0.
func hostPacket(op byte, data ...byte) Packet {
	return Packet{Opcode: op, Source: sourceHost, Data: data}
}

// Bytes encodes the packet with its checksum.
func (p Packet) Bytes() []byte {
	b := append([]byte{byte(4 + len(p.Data)), p.Opcode, p.Source, p.Status}, p.Data...)
	sum := checksum(b)
	return append(b, byte(sum>>8), byte(sum))
}

func (p Packet) String() string { return fmt.Sprintf("% X", p.Bytes()) }

func checksum(b []byte) uint16 {
	var sum uint16
	for _, x := range b {
		sum += uint16(x)
	}
	return -sum
}

// errChecksum marks a packet that arrived damaged; the host asks for it
// again with CMD_NAK (resend).
var errChecksum = errors.New("ssi: checksum mismatch")

// maxPacket bounds one packet: len is one byte.
const maxPacket = 0xFF + 2

// ParsePacket decodes exactly one packet.
func ParsePacket(b []byte) (Packet, error) {
	if len(b) < 6 {
		return Packet{}, drivers.ProtocolError("ssi: packet % X shorter than 6 bytes", b)
	}
	n := int(b[0])
	if n < 4 {
		return Packet{}, drivers.ProtocolError("ssi: length byte %02X below 4", b[0])
	}
	if len(b) != n+2 {
		return Packet{}, drivers.ProtocolError("ssi: packet announces %d bytes plus checksum, has %d", n, len(b))
	}
	if got, want := uint16(b[n])<<8|uint16(b[n+1]), checksum(b[:n]); got != want {
		return Packet{}, fmt.Errorf("%w: % X carries %04X, sum gives %04X", errChecksum, b, got, want)
	}
	return Packet{Opcode: b[1], Source: b[2], Status: b[3], Data: append([]byte(nil), b[4:n]...)}, nil
}

// ReadPacket reads one packet from the line.
func ReadPacket(r io.Reader) (Packet, error) {
	var first [1]byte
	if _, err := io.ReadFull(r, first[:]); err != nil {
		return Packet{}, fmt.Errorf("ssi: read: %w", err)
	}
	n := int(first[0])
	if n < 4 {
		return Packet{}, drivers.ProtocolError("ssi: length byte %02X below 4: not an SSI packet", first[0])
	}
	rest := make([]byte, n+1)
	if _, err := io.ReadFull(r, rest); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return Packet{}, fmt.Errorf("ssi: packet announced %d bytes: %w", n, err)
	}
	return ParsePacket(append(first[:], rest...))
}

// Revision is the decoder's REPLY_REVISION: ASCII fields separated by
// spaces, "swrev boardtype enginecode …".
type Revision struct {
	Software, Board, Engine string
	Raw                     string
}

func parseRevision(data []byte) (Revision, error) {
	for _, c := range data {
		if c < 0x20 || c > 0x7E {
			return Revision{}, drivers.ProtocolError("ssi: revision % X is not printable ASCII", data)
		}
	}
	fields := strings.Fields(string(data))
	if len(fields) == 0 {
		return Revision{}, drivers.ProtocolError("ssi: empty revision")
	}
	r := Revision{Software: fields[0], Raw: string(data)}
	if len(fields) > 1 {
		r.Board = fields[1]
	}
	if len(fields) > 2 {
		r.Engine = fields[2]
	}
	return r, nil
}
