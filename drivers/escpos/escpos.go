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

// probeCost is the longest probe: DLE EOT 1-4 sent together (one exchange
// of 12 bytes out and at most 4 in) and, from a printer that does not take
// them so, asked again one at a time (4 of 3 and 1); and, when identity is
// due, GS I 1-3 (3 of 3 and 1) and GS I 65-69 (5 of 3 out and a typical "_"
// text NUL of 6 to 16 bytes in). Most probes are the first exchange alone.
var probeCost = drivers.Cost{Exchanges: 1 + 4 + 8, Bytes: 16 + 16 + 12 + 15 + 52}

// oneByOneFor is how long a printer that did not answer DLE EOT 1-4 sent
// together is asked one question at a time before the four are tried
// together again. The switch may come from a one-off (line noise in the
// answers, a printer busy for a moment) or the printer may be swapped for
// one that takes them; without a retry such a printer would be asked the
// dearer way until the agent restarts. A retry on a printer that really
// does not take them costs one step of waiting on one probe, so every few
// hours is cheap either way.
const oneByOneFor = 6 * time.Hour

// dleEOT1to4 is the four real-time status questions, back to back.
var dleEOT1to4 = []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4}

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

	// Until oneByOneUntil the printer is asked DLE EOT 1-4 one at a time:
	// it did not answer the four sent together but answered them asked
	// singly (a clone, or an interface that passes only one real-time
	// command per packet). oneByOneNote says so in the reading's detail.
	oneByOneUntil time.Time
	oneByOneNote  string
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
// Each exchange may take the timeout (the GS I ones identity_step; the four
// status questions sent together bring at least one answer per timeout, see
// askTogether); the whole probe, drivers.ProbeTimeout.
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
	st, err := d.readStatus(ctx, c)
	if err != nil {
		d.ident.Probed(false)
		return drivers.Reading{}, fmt.Errorf("escpos %s: %w", d.addr, transport.Timeout(ctx, err))
	}
	d.asb = nil // what the printer answered now is newer
	r := drivers.Reading{
		Faults:       st.Faults(d.drawer),
		Measurements: map[string]float64{"rtt_ms": float64(time.Since(start).Microseconds()) / 1000},
		Detail:       st.String() + d.oneByOneNote,
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

// readStatus asks DLE EOT 1..4. It sends the four together (reference 1.2:
// Epson takes up to four DLE EOT back to back), which is one write and, from
// a printer that answers at once, one read, where asking one at a time
// costs four of each and a wake-up per answer (issue 20: the agent's CPU
// per check). A printer that does not answer them so (fewer than four
// answers, or one out of step) could be a clone that drops questions while
// it answers one, so that is no fault: it is asked again one at a time on
// the same connection, whose answers are the reading, and from then on
// for oneByOneFor. Only what the questions asked one at a time get (no
// answer, a byte out of step) fails the probe.
func (d *Driver) readStatus(ctx context.Context, c transport.Conn) (Status, error) {
	now := time.Now()
	if now.Before(d.oneByOneUntil) {
		return askOneByOne(ctx, c, d.timeout)
	}
	st, got, err := askTogether(ctx, c, d.timeout)
	if err == nil {
		d.oneByOneUntil, d.oneByOneNote = time.Time{}, ""
		return st, nil
	}
	if ctx.Err() != nil || errors.Is(err, errWrite) {
		// Out of time, or the connection is broken: asking again
		// cannot tell anything more.
		return Status{}, fmt.Errorf("DLE EOT 1-4 sent together: %w", err)
	}
	// What is left of the answers to the four (read ahead, or in a
	// serial port's input) must not be taken for answers to the
	// questions asked singly. Flush cannot drop what is still in a TCP
	// socket; askTogether waits long enough that a printer keeping to
	// its timeout leaves nothing there.
	transport.Flush(c)
	st, err1 := askOneByOne(ctx, c, d.timeout)
	if err1 != nil {
		// The questions asked singly decide what the failure is (no
		// answer, or a protocol error); the first try is only told.
		return Status{}, fmt.Errorf("DLE EOT 1-4 sent together: %v; asked one at a time: %w", err, err1)
	}
	why := fmt.Sprintf("%d of 4 answers", got)
	if errors.Is(err, drivers.ErrProtocol) {
		why = err.Error()
	}
	d.oneByOneUntil = now.Add(oneByOneFor)
	d.oneByOneNote = fmt.Sprintf("; asked one at a time until %s (sent together: %s)", d.oneByOneUntil.Format("15:04"), why)
	return st, nil
}

// errWrite marks questions that could not be sent.
var errWrite = errors.New("cannot send")

// askTogether sends DLE EOT 1..4 in one write and reads the four answers;
// it returns how many fitted. Each step must bring at least one answer: a
// printer that answers the questions one after another, each within step
// as it would asked singly, is never cut short (its late answers would
// otherwise arrive while it is asked again), and one that stays silent is
// given up on after one step. Each byte is checked in order: after one
// that does not fit, the stream is out of step and the rest would be
// misread.
func askTogether(ctx context.Context, c transport.Conn, step time.Duration) (Status, int, error) {
	var st Status
	if err := transport.StepDeadline(ctx, c, step); err != nil {
		return st, 0, err
	}
	if _, err := c.Write(dleEOT1to4); err != nil {
		return st, 0, fmt.Errorf("%w: %w", errWrite, err)
	}
	got := 0
	for got < len(st) {
		b, err := transport.ReadFull(c, len(st)-got)
		for _, v := range b {
			if err := checkStatusByte(byte(got+1), v); err != nil {
				return st, got, err
			}
			st[got] = v
			got++
		}
		if err == nil {
			break
		}
		if len(b) == 0 {
			return st, got, fmt.Errorf("%d of 4 answers: %w", got, err)
		}
		if err := transport.StepDeadline(ctx, c, step); err != nil {
			return st, got, err
		}
	}
	return st, got, nil
}

// askOneByOne asks DLE EOT 1..4 one at a time, each within step.
func askOneByOne(ctx context.Context, c transport.Conn, step time.Duration) (Status, error) {
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
