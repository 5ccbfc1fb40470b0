package scale

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
)

// Mode7E1 is 9600 7E1, the usual setting of ECR scale protocols (NCI,
// Toledo 8213) that send 7-bit characters.
var Mode7E1 = transport.SerialMode{Baud: 9600, DataBits: 7, Parity: "E", StopBits: "1"}

// Line is how a driver reaches its scale: the address, the serial settings
// after the driver's defaults, and whether the protocol's characters are
// 7-bit (bit 7 being parity, see Strip7).
type Line struct {
	Addr  transport.Address
	Mode  transport.SerialMode // zero for tcp
	Seven bool
	// Carriers, on a 7-bit line, names the bytes that may carry their own
	// parity bit (see StripParity); nil when the protocol has none.
	Carriers Carriers
}

// NewLine checks the address and applies the driver's serial defaults.
// Scales are reached over a serial port or a serial-to-TCP converter; no
// scale protocol here has a standard TCP port, so a tcp address must name
// one. seven says, for the resolved mode, whether bit 7 carries parity.
func NewLine(a transport.Address, def transport.SerialMode, seven func(transport.SerialMode) bool) (Line, error) {
	l := Line{Addr: a}
	switch a.Scheme {
	case "serial":
		m, err := a.SerialMode(def)
		if err != nil {
			return Line{}, err
		}
		l.Mode = m
	case "tcp":
		if _, port, err := net.SplitHostPort(a.Host); err != nil || port == "" {
			return Line{}, fmt.Errorf("address %s: a scale behind a serial-to-TCP converter has no standard port; give it (tcp://host:4001)", a)
		}
	default:
		return Line{}, fmt.Errorf("address %s: a scale is reached over serial:// or tcp://", a)
	}
	l.Seven = seven(l.Mode)
	return l, nil
}

// Open connects for one probe, whose deadline follows ctx; each exchange
// (a Send and the answer after it) may take step of it.
func (l Line) Open(ctx context.Context, step time.Duration) (*Port, error) {
	c, err := transport.Dial(ctx, l.Addr, transport.DialOptions{Serial: l.Mode})
	if err != nil {
		return nil, err
	}
	return &Port{ctx: ctx, conn: c, line: l, step: step}, nil
}

// Port is one open connection to a scale.
type Port struct {
	ctx  context.Context
	conn transport.Conn
	line Line
	step time.Duration
}

// Close closes the connection.
func (p *Port) Close() error { return p.conn.Close() }

// Send starts an exchange: it gives the exchange its own deadline (step, or
// the probe's if that comes first), discards whatever the scale sent before
// (a scale may stream weights, or a late answer to an earlier probe may be
// waiting) and writes req.
func (p *Port) Send(req []byte) error {
	if p.step > 0 {
		if err := transport.StepDeadline(p.ctx, p.conn, p.step); err != nil {
			return err
		}
	}
	transport.Flush(p.conn)
	if _, err := p.conn.Write(req); err != nil {
		return fmt.Errorf("send %q: %w", req, err)
	}
	return nil
}

// Frame reads one answer up to and including end, at most max bytes. On a
// 7-bit line end is matched on the low seven bits and the frame comes back
// with bit 7 checked and cleared (StripParity, with the line's Carriers).
// A frame longer than max is a protocol error; silence is a timeout
// (os.ErrDeadlineExceeded).
func (p *Port) Frame(end []byte, max int) ([]byte, error) {
	return p.read(nil, end, max)
}

// Framed is Frame for protocols whose answers begin with a known byte (STX,
// LF): any other first byte is a protocol error at once, without waiting
// for an end that noise may never bring.
func (p *Port) Framed(start byte, end []byte, max int) ([]byte, error) {
	return p.read(&start, end, max)
}

func (p *Port) read(start *byte, end []byte, max int) ([]byte, error) {
	var r io.Reader = p.conn
	m := &masking{r: p.conn}
	if p.line.Seven {
		r = m
	}
	var got []byte
	if start != nil {
		first, err := transport.ReadFull(r, 1)
		if err != nil {
			return nil, p.frameErr(nil, err)
		}
		got = first
		if first[0] != *start {
			return got, drivers.ProtocolError("answer begins with 0x%02X, not 0x%02X", first[0], *start)
		}
	}
	rest, err := transport.ReadUntil(r, end, max-len(got))
	got = append(got, rest...)
	if !p.line.Seven {
		return got, p.frameErr(got, err)
	}
	if err != nil {
		return m.raw, p.frameErr(m.raw, err)
	}
	return StripParity(m.raw, p.line.Mode.Parity, p.line.Carriers)
}

func (p *Port) frameErr(got []byte, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, transport.ErrTooLong):
		return drivers.ProtocolError("%v; the answer began %q", err, clip(got))
	case len(got) > 0:
		return fmt.Errorf("%w (received %q)", err, clip(got))
	}
	return err
}

// masking clears bit 7 of what it reads and keeps the bytes as received.
type masking struct {
	r   io.Reader
	raw []byte
}

func (m *masking) Read(b []byte) (int, error) {
	n, err := m.r.Read(b)
	m.raw = append(m.raw, b[:n]...)
	for i := range b[:n] {
		b[i] &= 0x7F
	}
	return n, err
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}
