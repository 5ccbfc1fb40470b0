package zvt

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// DefaultPort is the ZVT ECR port on TCP.
const DefaultPort = 20007

// SerialDefaults are PA00P016's line settings: 9600 baud, 8 data bits, no
// parity, two stop bits.
var SerialDefaults = transport.SerialMode{Baud: 9600, DataBits: 8, Parity: "N", StopBits: "2"}

// defaultTimeout covers the terminal's T3 (5 s until the completion) with
// room for a slow line.
const defaultTimeout = 8 * time.Second

// probeCost: the enquiry until the completion (its acknowledge and T3
// included), the acknowledge of the completion, and room for two
// intermediate status messages, each acknowledged: 4 exchanges. Bytes on a
// serial line: four DLE STX frames of about 10 bytes (a completion with
// software version and terminal id about 30) and their one-byte ACKs.
var probeCost = drivers.Cost{Exchanges: 4, Bytes: 64}

// Faults the driver can raise.
var Faults = []wire.FaultCode{
	wire.FaultPTNotReady, wire.FaultPTHostUnreachable, wire.FaultPTReconciliation,
	wire.FaultPTActivation, wire.FaultPTHardware, wire.FaultUnknownDevice,
}

func init() {
	drivers.Register(drivers.Info{
		Name:        "zvt",
		Description: "payment terminals speaking ZVT (German ECR interface) over TCP or serial: Status Enquiry",
		Kinds:       []string{"payment_terminal"},
		Schemes:     []string{"tcp", "serial"},
		Faults:      Faults,
		Options: []drivers.Option{
			{Name: "password", Type: drivers.OptionString, Secret: true, Doc: "six digits, sent BCD with the Status Enquiry"},
			{Name: "service_byte", Type: drivers.OptionString, Doc: "BMP 03 after the password (07: status only, on some terminals)"},
			{Name: "crc_escape", Type: drivers.OptionBool, Default: "false", Doc: "serial only: double a CRC byte equal to DLE (10) in frames the driver sends"},
		},
		New: New,
	})
}

// Driver probes one ZVT terminal.
type Driver struct {
	addr      transport.Address
	timeout   time.Duration
	request   APDU
	escapeCRC bool
	expected  *wire.Identity
}

// New builds the driver from a device's configuration. Options:
//
//	password      six digits, sent with the Status Enquiry (BMP-less, BCD)
//	service_byte  0..255, sent as BMP 03 (07 asks some terminals for the status only)
//	crc_escape    true: double a CRC byte equal to DLE on the serial line
func New(spec drivers.Spec) (drivers.Prober, error) {
	o := spec.Options
	pw := o.String("password", "")
	svc := o.String("service_byte", "")
	escape := o.Bool("crc_escape", false)
	req := APDU{Class: 0x05, Instr: 0x01}
	if pw != "" {
		b, err := packPassword(pw)
		if err != nil {
			o.Fail("option password: %v", err)
		}
		req.Data = append(req.Data, b...)
	}
	if svc != "" {
		n, err := strconv.ParseUint(svc, 0, 8)
		if err != nil {
			o.Fail("option service_byte: %q is not a number from 0 to 255 (07 or 0x07)", svc)
		}
		if pw == "" {
			o.Fail("option service_byte needs option password: the Status Enquiry carries the service byte after the password")
		}
		req.Data = append(req.Data, 0x03, byte(n))
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if spec.Address.Scheme != "tcp" && spec.Address.Scheme != "serial" {
		return nil, fmt.Errorf("zvt talks over tcp:// or serial://, not %s://", spec.Address.Scheme)
	}
	t := spec.Timeout
	if t <= 0 {
		t = defaultTimeout
	}
	return &Driver{addr: spec.Address, timeout: t, request: req, escapeCRC: escape, expected: spec.Expected}, nil
}

// packPassword turns "123456" into 12 34 56.
func packPassword(s string) ([]byte, error) {
	if len(s) != 6 {
		return nil, fmt.Errorf("%q: want six digits", s)
	}
	out := make([]byte, 3)
	for i := range 6 {
		d := s[i]
		if d < '0' || d > '9' {
			return nil, fmt.Errorf("%q: want six digits", s)
		}
		out[i/2] |= (d - '0') << (4 * (1 - i%2))
	}
	return out, nil
}

// ProbeCost implements drivers.Costed.
func (d *Driver) ProbeCost() drivers.Cost { return probeCost }

// Probe sends a Status Enquiry and maps the terminal's answer. Every
// message the driver sends starts an exchange that may take the timeout
// (the enquiry's lasts until the completion, T3 included); the whole
// probe, drivers.ProbeTimeout.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, drivers.ProbeTimeout(d, d.timeout))
	defer cancel()
	c, err := transport.Dial(ctx, d.addr, transport.DialOptions{DefaultPort: DefaultPort, Serial: SerialDefaults})
	if err != nil {
		return drivers.Reading{}, fmt.Errorf("zvt %s: %w", d.addr, err)
	}
	defer c.Close()
	serial := d.addr.Scheme == "serial"
	if serial {
		transport.Flush(c)
	}
	step := func() error { return transport.StepDeadline(ctx, c, d.timeout) }
	heard := &counting{Conn: c}
	r, err := d.exchange(heard, serial, step)
	if err != nil {
		if !serial && heard.n == 0 && turnedAway(err) {
			return drivers.Reading{}, fmt.Errorf("zvt %s: %w", d.addr, &transport.BusyError{Resource: d.addr.HostPort(DefaultPort),
				How: fmt.Sprintf("the terminal accepted the connection and closed it before answering (%v): it serves one ECR connection at a time, the POS application's", err)})
		}
		return drivers.Reading{}, fmt.Errorf("zvt %s: %w", d.addr, transport.Timeout(ctx, err))
	}
	return r, nil
}

// counting counts the bytes the terminal sent.
type counting struct {
	transport.Conn
	n int
}

func (c *counting) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.n += n
	return n, err
}

// turnedAway: the connection was closed or reset by the other end. A
// terminal that does so before a byte of answer is up and running (its
// software accepted the connection) and turning a second ECR away.
func turnedAway(err error) bool {
	for _, e := range closedByPeer {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// closedByPeer are the errors of a connection the other end closed or
// reset (Windows adds WSAECONNRESET).
var closedByPeer = []error{io.EOF, io.ErrUnexpectedEOF, syscall.ECONNRESET, syscall.EPIPE}

// exchange runs the Status Enquiry on an open line and maps the answer;
// step, when not nil, starts each exchange.
func (d *Driver) exchange(c io.ReadWriter, serial bool, step stepper) (drivers.Reading, error) {
	var l link = streamLink{rw: c, next: step}
	if serial {
		l = &serialLink{c: c, escapeCRC: d.escapeCRC, next: step}
	}
	comp, err := statusEnquiry(l, d.request)
	if err != nil {
		return drivers.Reading{}, err
	}
	r := drivers.Reading{Faults: faultsFor(comp.Status), Detail: "terminal status " + describe(comp.Status)}
	if id := comp.identity(); !id.IsZero() {
		r.Identity = &id
		if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
			r.Faults = append(r.Faults, f)
		}
	}
	return r, nil
}

// Identify runs a Status Enquiry for the identity it carries. A busy
// terminal makes it fail with ErrBusy like Probe.
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	r, err := d.Probe(ctx)
	if err != nil {
		return wire.Identity{}, err
	}
	if r.Identity == nil {
		return wire.Identity{}, errors.New("zvt: the terminal's completion carried no software version or terminal id (try option service_byte, or none)")
	}
	return *r.Identity, nil
}

// identity: ZVT reports no hardware serial number; the terminal id stands in
// for it, as it is what the payment network knows the terminal by.
func (c completion) identity() wire.Identity {
	id := wire.Identity{Serial: c.TerminalID, Firmware: c.Software}
	if c.TerminalID != "" {
		id.Extra = map[string]string{"terminal_id": c.TerminalID}
	}
	return id
}

// busyError says the terminal is in a transaction.
func busyError(what string) error {
	return fmt.Errorf("%w: %s; retry later (nothing was sent that could abort a payment)", drivers.ErrBusy, what)
}

// statusEnquiry runs 05 01 to its completion:
//
//	ECR → PT  05 01 …
//	PT → ECR  80 00 00          (or 84 xx 00: refused with code xx)
//	PT → ECR  06 0F LL <data>   (intermediate 04 FF / 04 0F are acknowledged and waited out)
//	ECR → PT  80 00 00
//
// The terminal may end the command with Abort (06 1E xx) instead of the
// completion, or instead of its first acknowledge; the ECR acknowledges
// that with 80 00 00 as it does a completion. Only acknowledgements (80 00
// 00) are ever sent after the request.
func statusEnquiry(l link, req APDU) (completion, error) {
	if err := l.send(req); err != nil {
		return completion{}, err
	}
	a, err := l.recv()
	if err != nil {
		return completion{}, err
	}
	switch {
	case a.Is(0x80, 0x00), a.Is(0x84, 0x00):
	case a.Class == 0x84:
		return refused("refused the Status Enquiry", a.Instr)
	case a.Is(0x06, 0x1E):
		return aborted(l, a)
	default:
		return completion{}, drivers.ProtocolError("zvt: answer %s to the Status Enquiry is not an acknowledge", a)
	}
	inProgress := false
	for {
		a, err := l.recv()
		if err != nil {
			if inProgress {
				return completion{}, busyError(fmt.Sprintf("terminal reported a transaction in progress and no completion came (%v)", err))
			}
			return completion{}, err
		}
		switch {
		case a.Is(0x06, 0x0F):
			c, err := parseCompletion(a.Data)
			if err != nil {
				return completion{}, err
			}
			if isBusy(c.Status) {
				return completion{}, busyError("terminal status " + describe(c.Status))
			}
			// The terminal hands back master rights; acknowledge them.
			if err := l.send(ackAPDU); err != nil {
				return completion{}, err
			}
			return c, nil
		case a.Is(0x04, 0xFF), a.Is(0x04, 0x0F):
			// Intermediate status or status information: the terminal is
			// working on something. The ECR must acknowledge it.
			inProgress = true
			if err := l.send(ackAPDU); err != nil {
				return completion{}, err
			}
		case a.Is(0x06, 0x1E):
			return aborted(l, a)
		default:
			return completion{}, drivers.ProtocolError("zvt: unexpected %s while waiting for the completion", a)
		}
	}
}

// refused handles 84 xx: busy codes mean "later"; other codes are the
// terminal's reason, which shares the status code table.
func refused(what string, code byte) (completion, error) {
	if isBusy(code) {
		return completion{}, busyError(fmt.Sprintf("terminal %s with %s", what, describe(code)))
	}
	return completion{Status: code}, nil
}

// aborted handles 06 1E xx: the terminal ended the command itself. Like a
// completion, the abort hands master rights back to the ECR, which
// acknowledges it with 80 00 00 (on serial: framed, after the link ACK
// that recv already sent), whatever the result code says.
func aborted(l link, a APDU) (completion, error) {
	if err := l.send(ackAPDU); err != nil {
		return completion{}, fmt.Errorf("acknowledging the abort %s: %w", a, err)
	}
	if len(a.Data) == 0 {
		return completion{}, drivers.ProtocolError("zvt: abort %s carries no result code", a)
	}
	return refused("aborted the Status Enquiry", a.Data[0])
}
