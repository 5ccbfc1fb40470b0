package zpl

import (
	"context"
	"errors"
	"fmt"
	"os"

	"sync"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Defaults.
const (
	DefaultPort          = 9100
	DefaultTimeout       = 4 * time.Second
	DefaultIdentifyEvery = 60
	// DefaultVendor is the identity's vendor: ~HI names the model only.
	// ZPL clones (OKI, Honeywell in emulation) set option vendor.
	DefaultVendor    = "Zebra"
	defaultIdentStep = time.Second
	maxFrame         = 256 // one ~HS string is 40-odd bytes
	maxHQES          = 512
)

// probeCost is the longest probe: ~HS (3 bytes out, three strings of 82
// bytes in), ~HQES (5 out, about 97 in) and, when identity is due, ~HI (3
// out, about 30 in) and ~HQSN (5 out, about 33 in).
var probeCost = drivers.Cost{Exchanges: 4, Bytes: 3 + 82 + 5 + 97 + 3 + 30 + 5 + 33}

func init() {
	drivers.Register(drivers.Info{
		Name:        "zpl",
		Description: "Zebra ZPL II label printers: ~HS host status, ~HQES errors and warnings, ~HI and ~HQSN identity",
		Kinds:       []string{"label_printer"},
		Schemes:     []string{"tcp", "serial"},
		Faults: []wire.FaultCode{
			wire.FaultPaperOut, wire.FaultPaperLow, wire.FaultRibbonOut, wire.FaultCoverOpen, wire.FaultCutterError,
			wire.FaultHeadOverheat, wire.FaultMotorOverheat, wire.FaultHeadCold, wire.FaultHeadFault,
			wire.FaultPaused, wire.FaultBufferFull, wire.FaultConfigLost,
			wire.FaultPaperJam, wire.FaultMechanicalError, wire.FaultMaintenanceDue, wire.FaultUnknownDevice,
		},
		Options: []drivers.Option{
			{Name: "hs_timeout", Type: drivers.OptionDuration, Doc: "wait for ~HS before falling back to ~HQES (default: half the timeout)"},
			{Name: "identity_step", Type: drivers.OptionDuration, Default: "1s", Doc: "deadline for ~HI"},
			{Name: "identify_every", Type: drivers.OptionInt, Default: "60", Doc: "read identity again every N probes (0: only the first time)"},
			{Name: "vendor", Type: drivers.OptionString, Default: "Zebra", Doc: "the identity's vendor, which ~HI does not say (ZPL clones: OKI, Honeywell)"},
		},
		New: func(s drivers.Spec) (drivers.Prober, error) { return New(s) },
	})
}

// Driver polls one ZPL printer, one short session per probe.
type Driver struct {
	addr      transport.Address
	timeout   time.Duration
	hsStep    time.Duration
	identStep time.Duration
	vendor    string
	ident     drivers.IdentitySchedule
	dial      func(ctx context.Context) (transport.Conn, error)

	mu     sync.Mutex
	noHQES bool // answered ~HS but never ~HQES: older firmware
	noHQSN bool // answered ~HI but never ~HQSN: older firmware or a clone
}

// New builds a driver from a device spec. Options:
//
//	hs_timeout      how long to wait for ~HS before asking ~HQES (default: half the timeout)
//	identity_step   time allowed for ~HI, and for ~HQSN (default 1s each)
//	identify_every  read identity again every N probes (default 60; 0 = only the first time)
//	vendor          the identity's vendor (default Zebra; for ZPL clones)
func New(s drivers.Spec) (*Driver, error) {
	o := s.Options
	timeout := s.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	d := &Driver{
		addr:      s.Address,
		timeout:   timeout,
		hsStep:    o.Duration("hs_timeout", timeout/2),
		identStep: o.Duration("identity_step", defaultIdentStep),
		vendor:    o.String("vendor", DefaultVendor),
		ident:     drivers.IdentitySchedule{Every: o.Int("identify_every", DefaultIdentifyEvery), Expected: s.Expected},
	}
	if d.hsStep <= 0 || d.hsStep > timeout {
		o.Fail("option hs_timeout: %v; want more than 0 and at most the timeout (%v)", d.hsStep, timeout)
	}
	if d.ident.Every < 0 {
		o.Fail("option identify_every: %d; want 0 or more", d.ident.Every)
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if s.Address.Scheme != "tcp" && s.Address.Scheme != "serial" {
		return nil, fmt.Errorf("zpl: cannot talk over %s:// (use tcp:// or serial://)", s.Address.Scheme)
	}
	d.dial = func(ctx context.Context) (transport.Conn, error) {
		return transport.Dial(ctx, d.addr, transport.DialOptions{DefaultPort: DefaultPort, Serial: transport.Mode8N1})
	}
	return d, nil
}

// silent reports a timeout before the first byte of an answer.
func silent(ctx context.Context, err error, got []byte) bool {
	err = transport.Timeout(ctx, err)
	return len(got) == 0 && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, context.DeadlineExceeded))
}

// ProbeCost implements drivers.Costed.
func (d *Driver) ProbeCost() drivers.Cost { return probeCost }

// Probe asks ~HS and ~HQES and, now and then, ~HI and ~HQSN. ~HS may take
// hs_timeout, ~HQES the timeout, the identity questions identity_step each;
// the whole probe, drivers.ProbeTimeout.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	c, err := d.dial(ctx)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("zpl %s: %w", d.addr, err)
	}
	defer c.Close()
	transport.Flush(c)

	r, err := d.status(ctx, c)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("zpl %s: %w", d.addr, transport.Timeout(ctx, err))
	}
	if d.ident.Due() {
		if id, err := d.readIdentity(ctx, c); err != nil {
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

// status reads ~HS, then ~HQES: always when ~HS went unanswered (the
// printer is silent on ~HS in exactly the states worth a ticket), and
// otherwise for the faults only ~HQES reports (cutter, head faults,
// maintenance warnings) unless the printer has shown it lacks ~HQES.
func (d *Driver) status(ctx context.Context, c transport.Conn) (drivers.Reading, error) {
	r := drivers.Reading{Measurements: map[string]float64{}}
	if err := transport.StepDeadline(ctx, c, d.hsStep); err != nil {
		return r, err
	}
	hs, raw, hsErr := askHostStatus(c)
	if hsErr != nil && !silent(ctx, hsErr, raw) {
		return r, hsErr
	}
	if hsErr == nil {
		r.Faults = hs.Faults()
		r.Measurements["labels_remaining"] = float64(hs.LabelsRemaining)
		r.Measurements["formats_in_buffer"] = float64(hs.Formats)
		r.Measurements["label_length_dots"] = float64(hs.LabelLength)
		r.Detail = "~HS ok, line " + CommSettings(hs.Comm)
	}

	d.mu.Lock()
	skipHQES := hsErr == nil && d.noHQES
	d.mu.Unlock()
	if skipHQES {
		return r, nil
	}
	if err := transport.StepDeadline(ctx, c, d.timeout); err != nil {
		return r, err
	}
	es, raw, err := askErrorStatus(c)
	switch {
	case err == nil:
		if es.MotorHotOnly() {
			// ~HS's one over-temperature flag is then the motor's, which
			// ~HQES reports as motor_overheat: not the print head.
			r.Faults = without(r.Faults, wire.FaultHeadOverheat)
		}
		r.Faults = merge(r.Faults, es.Faults())
		if hsErr != nil {
			r.Detail = "~HS unanswered, status from ~HQES"
		} else {
			r.Detail += "; ~HQES ok"
		}
	case hsErr == nil && silent(ctx, err, raw):
		d.mu.Lock()
		d.noHQES = true
		d.mu.Unlock()
		r.Detail += "; no answer to ~HQES (older firmware), relying on ~HS"
	case hsErr != nil && silent(ctx, err, raw):
		return r, fmt.Errorf("no answer to ~HS nor ~HQES: %w", err)
	default:
		return r, err
	}
	return r, nil
}

// merge adds faults whose code is not yet listed: ~HS and ~HQES often say
// the same thing.
func merge(a, b []wire.Fault) []wire.Fault {
	have := map[wire.FaultCode]bool{}
	for _, f := range a {
		have[f.Code] = true
	}
	for _, f := range b {
		if !have[f.Code] {
			a = append(a, f)
			have[f.Code] = true
		}
	}
	return a
}

// without drops the faults with code c.
func without(fs []wire.Fault, c wire.FaultCode) []wire.Fault {
	out := fs[:0]
	for _, f := range fs {
		if f.Code != c {
			out = append(out, f)
		}
	}
	return out
}

// askHostStatus sends ~HS and reads three STX..ETX CR LF strings.
func askHostStatus(c transport.Conn) (HostStatus, []byte, error) {
	if _, err := c.Write([]byte("~HS")); err != nil {
		return HostStatus{}, nil, fmt.Errorf("~HS: %w", err)
	}
	var raw []byte
	for i := 0; i < 3; i++ {
		if i == 0 {
			b, err := transport.ReadFull(c, 1)
			if err != nil {
				return HostStatus{}, nil, fmt.Errorf("~HS: %w", err)
			}
			if b[0] != stx {
				return HostStatus{}, b, drivers.ProtocolError("~HS answer starts with %02X, want STX", b[0])
			}
			raw = b
		}
		b, err := transport.ReadUntil(c, []byte{etx, '\r', '\n'}, maxFrame)
		raw = append(raw, b...)
		if err != nil {
			if errors.Is(err, transport.ErrTooLong) {
				err = drivers.ProtocolError("~HS string %d: %v", i+1, err)
			}
			return HostStatus{}, raw, fmt.Errorf("~HS: %w", err)
		}
	}
	hs, err := ParseHostStatus(raw)
	return hs, raw, err
}

// askErrorStatus sends ~HQES and reads STX ... ETX.
func askErrorStatus(c transport.Conn) (ErrorStatus, []byte, error) {
	raw, err := ask(c, "~HQES", maxHQES)
	if err != nil {
		return ErrorStatus{}, raw, err
	}
	es, err := ParseErrorStatus(raw)
	return es, raw, err
}

// ask sends a command and reads an STX ... ETX answer. A CR LF before the
// STX is passed over: it ends the previous answer (~HI's framed form is
// STX … ETX CR LF, read only up to the ETX).
func ask(c transport.Conn, cmd string, max int) ([]byte, error) {
	if _, err := c.Write([]byte(cmd)); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	var b []byte
	for skipped := 0; ; skipped++ {
		var err error
		if b, err = transport.ReadFull(c, 1); err != nil {
			return nil, fmt.Errorf("%s: %w", cmd, err)
		}
		if (b[0] != '\r' && b[0] != '\n') || skipped == 2 {
			break
		}
	}
	if b[0] != stx {
		return b, drivers.ProtocolError("%s answer starts with %02X, want STX", cmd, b[0])
	}
	rest, err := transport.ReadUntil(c, []byte{etx}, max)
	raw := append(b, rest...)
	if err != nil {
		if errors.Is(err, transport.ErrTooLong) {
			err = drivers.ProtocolError("%v", err)
		}
		return raw, fmt.Errorf("%s: %w", cmd, err)
	}
	return raw, nil
}

// Identify reads the printer's identity now.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	var id wire.Identity
	err := transport.Session(ctx, drivers.ProbeTimeout(d, d.timeout), d.dial, func(ctx context.Context, c transport.Conn) (err error) {
		id, err = d.readIdentity(ctx, c)
		return err
	})
	if err != nil {
		return wire.Identity{}, fmt.Errorf("zpl %s: %w", d.addr, err)
	}
	return id, nil
}

func (d *Driver) readIdentity(ctx context.Context, c transport.Conn) (wire.Identity, error) {
	if err := transport.StepDeadline(ctx, c, d.identStep); err != nil {
		return wire.Identity{}, err
	}
	if _, err := c.Write([]byte("~HI")); err != nil {
		return wire.Identity{}, fmt.Errorf("~HI: %w", err)
	}
	// Framing of the answer is not documented: read to ETX when it starts
	// with STX, else to the end of the line.
	first, err := transport.ReadFull(c, 1)
	if err != nil {
		return wire.Identity{}, fmt.Errorf("~HI: %w", err)
	}
	end := []byte{'\n'}
	if first[0] == stx {
		end = []byte{etx}
	}
	rest, err := transport.ReadUntil(c, end, maxFrame)
	if err != nil {
		return wire.Identity{}, fmt.Errorf("~HI: %w", err)
	}
	id, err := ParseHostID(append(first, rest...))
	if err != nil {
		return id, err
	}
	id.Vendor = d.vendor
	d.readSerial(ctx, c, &id)
	d.ident.Read(id)
	return id, nil
}

// readSerial asks ~HQSN for the serial number, which ~HI lacks. A printer
// that does not answer it (older firmware, clones) keeps the identity ~HI
// gave and is not asked again; a garbled answer is noted in the identity.
func (d *Driver) readSerial(ctx context.Context, c transport.Conn, id *wire.Identity) {
	d.mu.Lock()
	skip := d.noHQSN
	d.mu.Unlock()
	if skip {
		id.Extra["serial_number"] = "not supported (no answer to ~HQSN)"
		return
	}
	if err := transport.StepDeadline(ctx, c, d.identStep); err != nil {
		return
	}
	raw, err := ask(c, "~HQSN", maxFrame)
	if err == nil {
		var sn string
		if sn, err = ParseSerialNumber(raw); err == nil {
			id.Serial = sn
			return
		}
	}
	if silent(ctx, err, raw) {
		d.mu.Lock()
		d.noHQSN = true
		d.mu.Unlock()
		id.Extra["serial_number"] = "not supported (no answer to ~HQSN)"
		return
	}
	id.Extra["serial_number"] = "not read: " + err.Error()
}
