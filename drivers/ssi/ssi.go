package ssi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// SerialDefaults: SSI engines ship at 9600 8N1.
var SerialDefaults = transport.Mode8N1

// defaultTimeout: the decoder answers REQUEST_REVISION within about a second.
const defaultTimeout = 2 * time.Second

// probeCost: REQUEST_REVISION (6 bytes) and its REPLY_REVISION (about 30),
// then CMD_ACK (6); a damaged reply costs a second exchange (CMD_NAK resend
// and the reply again).
var probeCost = drivers.Cost{Exchanges: 2, Bytes: 6 + 30 + 6}

// maxSkipped bounds how many unrelated packets (a scan that just happened,
// an event) may arrive before the revision.
const maxSkipped = 4

func init() {
	drivers.Register(drivers.Info{
		Name:        "ssi",
		Description: "Zebra/Symbol barcode scanners on a serial or USB CDC port, Simple Serial Interface: revision and liveness",
		Kinds:       []string{"barcode_scanner"},
		Schemes:     []string{"serial"},
		Faults:      []wire.FaultCode{wire.FaultUnknownDevice},
		New:         New,
	})
}

// Driver probes one SSI scanner.
type Driver struct {
	addr     transport.Address
	timeout  time.Duration
	expected *wire.Identity
}

// New builds the driver. It takes no options.
func New(spec drivers.Spec) (drivers.Prober, error) {
	if err := spec.Options.Err(); err != nil {
		return nil, err
	}
	if spec.Address.Scheme != "serial" {
		return nil, fmt.Errorf("ssi talks over serial:// (RS-232 or USB CDC), not %s://", spec.Address.Scheme)
	}
	t := spec.Timeout
	if t <= 0 {
		t = defaultTimeout
	}
	return &Driver{addr: spec.Address, timeout: t, expected: spec.Expected}, nil
}

// Probe asks the scanner for its revision.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	id, err := d.Identify(ctx)
	if err != nil {
		return drivers.Reading{}, err
	}
	r := drivers.Reading{Identity: &id, Detail: "revision " + id.Extra["revision"]}
	if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
		r.Faults = append(r.Faults, f)
	}
	return r, nil
}

// ProbeCost implements drivers.Costed.
func (d *Driver) ProbeCost() drivers.Cost { return probeCost }

// Identify reads the revision: software revision, board type, engine code.
// The request may take the timeout; the whole conversation, a resend
// included, drivers.ProbeTimeout.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	c, err := transport.Dial(ctx, d.addr, transport.DialOptions{Serial: SerialDefaults})
	if err != nil {
		return wire.Identity{}, fmt.Errorf("ssi %s: %w", d.addr, err)
	}
	defer c.Close()
	transport.Flush(c)
	if err := transport.StepDeadline(ctx, c, d.timeout); err != nil {
		return wire.Identity{}, fmt.Errorf("ssi %s: %w", d.addr, err)
	}
	rev, err := requestRevision(c)
	if err != nil {
		return wire.Identity{}, fmt.Errorf("ssi %s: %w", d.addr, err)
	}
	id := wire.Identity{Vendor: "Zebra", Firmware: rev.Software, Extra: map[string]string{"revision": rev.Raw}}
	if rev.Board != "" {
		id.Extra["board_type"] = rev.Board
	}
	if rev.Engine != "" {
		id.Extra["engine_code"] = rev.Engine
	}
	return id, nil
}

// requestRevision runs the exchange:
//
//	host    04 A3 04 00 FF 55           REQUEST_REVISION
//	scanner LL A4 00 ss <ASCII> ck ck   REPLY_REVISION
//	host    04 D0 04 00 FF 28           CMD_ACK
//
// A damaged reply is asked for again with CMD_NAK resend (05 D1 04 00 01 FF
// 25); a CMD_NAK resend from the scanner makes the host send its request
// again. Each happens once at most.
func requestRevision(rw io.ReadWriter) (Revision, error) {
	send := func(p Packet) error {
		if _, err := rw.Write(p.Bytes()); err != nil {
			return fmt.Errorf("ssi: send %s: %w", p, err)
		}
		return nil
	}
	request := hostPacket(opRequestRevision)
	if err := send(request); err != nil {
		return Revision{}, err
	}
	resent, nakked := false, false
	for skipped := 0; ; {
		p, err := ReadPacket(rw)
		switch {
		case errors.Is(err, errChecksum) && !nakked:
			nakked = true
			if err := send(hostPacket(opCmdNak, 0x01)); err != nil {
				return Revision{}, err
			}
			continue
		case errors.Is(err, errChecksum):
			return Revision{}, drivers.ProtocolError("%v (twice)", err)
		case err != nil:
			return Revision{}, err
		}
		switch {
		case p.Opcode == opReplyRevision && p.Source == sourceDecoder:
			rev, err := parseRevision(p.Data)
			if err != nil {
				return Revision{}, err
			}
			return rev, send(hostPacket(opCmdAck))
		case p.Opcode == opCmdNak:
			reason := byte(0)
			if len(p.Data) > 0 {
				reason = p.Data[0]
			}
			if reason == 0x01 && !resent {
				resent = true
				if err := send(request); err != nil {
					return Revision{}, err
				}
				continue
			}
			return Revision{}, drivers.ProtocolError("ssi: scanner answered REQUEST_REVISION with CMD_NAK %02X (%s)", reason, nakReasons[reason])
		}
		if skipped++; skipped > maxSkipped {
			return Revision{}, drivers.ProtocolError("ssi: %d packets and no REPLY_REVISION (last %s)", skipped, p)
		}
	}
}
