package escpos

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Defaults.
const (
	DefaultPort          = 9100
	DefaultTimeout       = 3 * time.Second
	DefaultIdentifyEvery = 60
	// identStep bounds one GS I question: printers that lack GS I 65..69
	// stay silent, and the probe must not wait for them until its deadline.
	defaultIdentStep = 700 * time.Millisecond
)

// probeCost is the longest probe: DLE EOT 1-4 (4 exchanges of 3 bytes out
// and 1 in) and, when identity is due, GS I 1-3 (3 of 3 and 1) and GS I
// 65-69 (5 of 3 out and a typical "_" text NUL of 6 to 16 bytes in).
var probeCost = drivers.Cost{Exchanges: 12, Bytes: 16 + 12 + 15 + 52}

func init() {
	drivers.Register(drivers.Info{
		Name:        "escpos",
		Description: "ESC/POS receipt printers (Epson TM and compatibles): DLE EOT real-time status, GS I identity",
		Kinds:       []string{"receipt_printer"},
		Schemes:     []string{"serial", "tcp", "usb"},
		Faults: []wire.FaultCode{
			wire.FaultOffline, wire.FaultCoverOpen, wire.FaultPaperLow, wire.FaultPaperOut,
			wire.FaultCutterError, wire.FaultMechanicalError, wire.FaultHeadOverheat,
			wire.FaultUnrecoverableError, wire.FaultDrawerOpen, wire.FaultUnknownDevice,
		},
		Options: []drivers.Option{
			{Name: "drawer", Type: drivers.OptionString, Default: "high", Values: []string{"high", "low", "ignore"}, Doc: "pin 3 level that means \"drawer open\"; ignore: the printer has no drawer"},
			{Name: "identify_every", Type: drivers.OptionInt, Default: "60", Doc: "read identity again every N probes (0: only the first time)"},
			{Name: "identity_step", Type: drivers.OptionDuration, Default: "700ms", Doc: "deadline for each GS I question"},
			{Name: "printer_info", Type: drivers.OptionBool, Default: "true", Doc: "ask GS I 65..69 (maker, model name, serial, firmware)"},
		},
		New: func(s drivers.Spec) (drivers.Prober, error) { return New(s) },
	})
}

// Driver polls one ESC/POS printer. Each probe opens the port, asks, and
// closes it again: on TCP 9100 the POS prints through the same port and most
// printers take one connection at a time.
type Driver struct {
	addr      transport.Address
	timeout   time.Duration
	drawer    Drawer
	identStep time.Duration
	infoB     bool
	ident     drivers.IdentitySchedule
	dial      func(ctx context.Context) (transport.Conn, error)

	// asb is the last automatic status back heard on a tapped line after
	// the last DLE EOT reading; nil when there is none.
	asb   *ASB
	asbAt time.Time
}

// New builds a driver from a device spec. Options:
//
//	drawer          high (default), low or ignore: the pin 3 level that means "drawer open"
//	identify_every  read identity again every N probes (default 60; 0 = only the first time)
//	identity_step   time allowed for each GS I question (default 700ms)
//	printer_info    ask GS I 65..69 (maker, model, serial strings); default true
func New(s drivers.Spec) (*Driver, error) {
	o := s.Options
	d := &Driver{
		addr:      s.Address,
		timeout:   s.Timeout,
		drawer:    Drawer(o.String("drawer", string(DrawerOpenHigh))),
		identStep: o.Duration("identity_step", defaultIdentStep),
		infoB:     o.Bool("printer_info", true),
		ident:     drivers.IdentitySchedule{Every: o.Int("identify_every", DefaultIdentifyEvery), Expected: s.Expected},
	}
	switch d.drawer {
	case DrawerOpenHigh, DrawerOpenLow, DrawerIgnore:
	default:
		o.Fail("option drawer: %q; want high, low or ignore", d.drawer)
	}
	if d.ident.Every < 0 {
		o.Fail("option identify_every: %d; want 0 or more", d.ident.Every)
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	switch s.Address.Scheme {
	case "serial", "tcp", "usb":
	default:
		return nil, fmt.Errorf("escpos: cannot talk over %s:// (use serial://, tcp:// or usb://)", s.Address.Scheme)
	}
	if d.timeout <= 0 {
		d.timeout = DefaultTimeout
	}
	d.dial = func(ctx context.Context) (transport.Conn, error) {
		return transport.Dial(ctx, d.addr, transport.DialOptions{DefaultPort: DefaultPort, Serial: transport.Mode8N1})
	}
	return d, nil
}

// ProbeCost implements drivers.Costed.
func (d *Driver) ProbeCost() drivers.Cost { return probeCost }

// Probe reads the four real-time status bytes and, now and then, identity.
// Each question may take the timeout (the GS I ones identity_step); the
// whole probe, drivers.ProbeTimeout.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	if a, ok := LastASB(transport.Overheard(d.addr)); ok {
		d.asb, d.asbAt = &a, time.Now()
	}
	c, err := d.dial(ctx)
	if err != nil {
		if errors.Is(err, drivers.ErrBusy) && d.asb != nil {
			// The POS application keeps the line (it prints), but the
			// printer told it its state by itself since the agent last
			// asked: that is the reading.
			return drivers.Reading{Faults: d.asb.Faults(d.drawer),
				Detail: fmt.Sprintf("%s, heard on the tap at %s (the printer's automatic status back to the POS application; the line was busy: %v)",
					d.asb, d.asbAt.Format("15:04:05"), err)}, nil
		}
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("escpos %s: %w", d.addr, err)
	}
	defer c.Close()
	transport.Flush(c)

	start := time.Now()
	st, err := readStatus(ctx, c, d.timeout)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("escpos %s: %w", d.addr, transport.Timeout(ctx, err))
	}
	d.asb = nil // what the printer answered now is newer
	r := drivers.Reading{
		Faults:       st.Faults(d.drawer),
		Measurements: map[string]float64{"rtt_ms": float64(time.Since(start).Microseconds()) / 1000},
		Detail:       st.String(),
	}

	if d.ident.Due() {
		id, err := d.readIdentity(ctx, c)
		if err != nil {
			r.Detail += "; identity not read: " + err.Error()
		} else {
			r.Identity = &id
		}
	}
	d.ident.Probed(true)
	if f, bad := d.ident.Mismatch(); bad {
		r.Faults = append(r.Faults, f)
	}
	return r, nil
}

// Identify reads the printer's identity now.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	var id wire.Identity
	err := transport.Session(ctx, drivers.ProbeTimeout(d, d.timeout), d.dial, func(ctx context.Context, c transport.Conn) (err error) {
		id, err = d.readIdentity(ctx, c)
		return err
	})
	if err != nil {
		return wire.Identity{}, fmt.Errorf("escpos %s: %w", d.addr, err)
	}
	return id, nil
}

// readStatus asks DLE EOT 1..4, one at a time, each within step.
func readStatus(ctx context.Context, c transport.Conn, step time.Duration) (Status, error) {
	var raw [4]byte
	for n := byte(1); n <= 4; n++ {
		if err := transport.StepDeadline(ctx, c, step); err != nil {
			return Status{}, err
		}
		if _, err := c.Write([]byte{0x10, 0x04, n}); err != nil {
			return Status{}, fmt.Errorf("DLE EOT %d: %w", n, err)
		}
		b, err := transport.ReadFull(c, 1)
		if err != nil {
			return Status{}, fmt.Errorf("DLE EOT %d: %w", n, err)
		}
		// Check each byte as it comes: after one that does not fit, the
		// stream is out of step and the rest would be misread.
		if err := checkStatusByte(n, b[0]); err != nil {
			return Status{}, err
		}
		raw[n-1] = b[0]
	}
	return ParseStatus(raw[:])
}

// readIdentity asks GS I 1, 2, 3 and, where the printer has them, the
// maker/model/serial strings of GS I 65..69. A printer that does not answer
// the strings keeps what the one-byte IDs gave.
func (d *Driver) readIdentity(ctx context.Context, c transport.Conn) (wire.Identity, error) {
	id := wire.Identity{Extra: map[string]string{}}
	ids := map[byte]byte{}
	for _, n := range []byte{gsIModel, gsIType, gsIROM} {
		if err := transport.StepDeadline(ctx, c, d.identStep); err != nil {
			return id, err
		}
		if _, err := c.Write([]byte{0x1D, 0x49, n}); err != nil {
			return id, fmt.Errorf("GS I %d: %w", n, err)
		}
		b, err := transport.ReadFull(c, 1)
		if err != nil {
			return id, fmt.Errorf("GS I %d: %w", n, err)
		}
		v, err := ParseIDByte(n, b[0])
		if err != nil {
			return id, err
		}
		ids[n] = v
	}
	id.Extra["model_id"] = fmt.Sprintf("0x%02X", ids[gsIModel])
	id.Extra["type_id"] = describeType(ids[gsIType])
	id.Extra["rom_id"] = fmt.Sprintf("0x%02X", ids[gsIROM])
	id.Model = "ESC/POS model ID " + id.Extra["model_id"]
	id.Firmware = "ROM ID " + id.Extra["rom_id"]

	if d.infoB {
		d.readInfoB(ctx, c, &id)
	}
	d.ident.Read(id)
	return id, nil
}

// readInfoB fills in what GS I 65..69 give. The first unanswered question
// ends the attempt: printers that lack the strings lack all of them.
func (d *Driver) readInfoB(ctx context.Context, c transport.Conn, id *wire.Identity) {
	for _, n := range []byte{gsIFirmware, gsIMaker, gsIName, gsISerial, gsIFont} {
		if err := transport.StepDeadline(ctx, c, d.identStep); err != nil {
			return
		}
		if _, err := c.Write([]byte{0x1D, 0x49, n}); err != nil {
			return
		}
		b, err := transport.ReadUntil(c, []byte{0}, maxInfoB)
		if err != nil {
			if !errors.Is(err, os.ErrDeadlineExceeded) || len(b) > 0 {
				id.Extra["printer_info"] = err.Error()
			} else {
				id.Extra["printer_info"] = "not supported (no answer to GS I 65)"
			}
			return
		}
		s, err := ParseInfoB(n, b)
		if err != nil {
			id.Extra["printer_info"] = err.Error()
			return
		}
		if s == "" {
			continue
		}
		switch n {
		case gsIFirmware:
			id.Firmware = s
		case gsIMaker:
			id.Vendor = s
		case gsIName:
			id.Model = s
		case gsISerial:
			id.Serial = s
		case gsIFont:
			id.Extra["font"] = s
		}
	}
}
