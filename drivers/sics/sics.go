package sics

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// DefaultMode is the MT-SICS factory setting: 9600 8N1, no handshake.
var DefaultMode = transport.SerialMode{Baud: 9600, DataBits: 8, Parity: "N", StopBits: "1"}

// Vendor is the identity's vendor: MT-SICS is Mettler Toledo's own.
const Vendor = "Mettler Toledo"

const (
	maxLine = 256 // longest line we accept; I2/I3 texts are short
	// maxSkip bounds the lines read while waiting for an answer: lines for
	// other commands (a scale streaming SIR weights) are passed over.
	maxSkip = 16
	// maxI0 bounds an I0 command list.
	maxI0 = 200
)

// probeCost is the longest probe: I4 naming another serial number, then
// the whole identity read again (I0, I1, I2, I3, I4) and SI, 7 exchanges.
// The bytes are the emulator's answers, as the reference shows them: four
// per command, an I0 list of a dozen commands (160 bytes), I1 to I4 of 17
// to 31 bytes each and the weight line of 19. First contact is 6 exchanges
// and 316 bytes; later probes ask SI alone (23 bytes), and I4 with it
// every identify_every probes (2 exchanges, 46 bytes).
var probeCost = drivers.Cost{Exchanges: 7, Bytes: 340}

func init() {
	drivers.Register(drivers.Info{
		Name:        "sics",
		Description: "Mettler Toledo scales and balances speaking MT-SICS (I0-I4 identity, SI weight, Z zero)",
		Kinds:       []string{"scale"},
		Schemes:     []string{"serial", "tcp"},
		Faults: []wire.FaultCode{
			wire.FaultScaleOverload, wire.FaultScaleUnderZero, wire.FaultScaleUnstable,
			wire.FaultScaleZeroError, wire.FaultUnknownDevice,
		},
		Options: append(slices.Clip(scale.MotionOptions),
			drivers.Option{Name: "identify_every", Type: drivers.OptionInt, Default: strconv.Itoa(DefaultIdentifyEvery),
				Doc: "check the serial number (I4) every N probes (0: only the first time)"}),
		New: New,
	})
}

// DefaultIdentifyEvery is how many probes go by between two checks of the
// serial number (I4), as ESC/POS reads its identity: at the default 5 s
// polling, every five minutes. Asking I4 at every probe doubled a probe's
// exchanges (and the agent's CPU for it: issue 20) to notice a swapped
// scale a few minutes sooner; a scale unplugged to be swapped fails its
// probes meanwhile, and the first probe after a failure checks at once.
const DefaultIdentifyEvery = 60

// Driver polls one MT-SICS scale.
type Driver struct {
	scale.Base
	expected *wire.Identity
	every    int // identify_every

	mu     sync.Mutex
	ident  *wire.Identity // cached; re-read when I4 gives another serial
	probes int            // probes answered since the serial was last checked
	failed bool           // the last probe got no answer: check on the next
}

// New builds the driver for one configured scale. Options: unstable_probes,
// unstable_after, identify_every (see the README).
func New(spec drivers.Spec) (drivers.Prober, error) {
	base, err := scale.NewBase("sics", &spec, DefaultMode, func(m transport.SerialMode) bool { return m.DataBits == 7 })
	if err != nil {
		return nil, err
	}
	base.Cost = probeCost
	base.Heard = LastWeight
	d := &Driver{Base: base, expected: spec.Expected, every: spec.Options.Int("identify_every", DefaultIdentifyEvery)}
	if err := spec.Options.Err(); err != nil {
		return nil, err
	}
	return d, nil
}

// Probe reads the serial number (I4; the full identity on first contact or
// when the serial changed) and the weight with SI, which answers at once
// whether or not the weight is stable. A scale that answers SI (or its
// first identity) with status I is busy: Probe returns an error wrapping
// drivers.ErrBusy and the collector skips the poll.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	var id wire.Identity
	r, err := d.Weigh(ctx, func(p *scale.Port) (scale.Status, error) {
		var err error
		if id, err = d.identity(p); err != nil {
			return scale.Status{}, err
		}
		l, err := ask(p, "SI", "S")
		if err != nil {
			return scale.Status{}, err
		}
		return Weight(l)
	})
	d.mu.Lock()
	busy := errors.Is(err, drivers.ErrBusy)
	d.failed = err != nil && !busy
	if !d.failed {
		d.probes++ // a busy scale answered too
	}
	d.mu.Unlock()
	if err != nil || id.IsZero() {
		return r, err // no identity: the weight was heard on the tap, not asked
	}
	r.Identity = &id
	if f, ok := drivers.IdentityMismatch(d.expected, id); ok {
		r.Faults = append(r.Faults, f)
		wire.SortFaults(r.Faults)
	}
	return r, nil
}

// Identify reads the full identity: I0 (commands), I1 (MT-SICS levels), I2
// (type and capacity), I3 (software) and I4 (serial number).
func (d *Driver) Identify(ctx context.Context) (wire.Identity, error) {
	var id wire.Identity
	err := d.Exchange(ctx, func(p *scale.Port) (err error) {
		id, err = readIdentity(p)
		return err
	})
	if err == nil {
		d.mu.Lock()
		d.ident = &id
		d.mu.Unlock()
	}
	return id, err
}

// Zero sends Z, which sets zero when the weight is stable. Probe never does:
// polling must not change a scale's state, and Z answers "Z +" whenever goods
// lie on the platter, which is no fault. MT-SICS reports a zero-range error
// only in answer to Z, so scale_zero_error comes from here, for an engineer's
// explicit request.
func (d *Driver) Zero(ctx context.Context) (drivers.Reading, error) {
	var res ZeroResult
	var raw string
	err := d.Exchange(ctx, func(p *scale.Port) error {
		l, err := ask(p, "Z", "Z")
		if err != nil {
			return err
		}
		raw = l.String()
		res, err = Zero(l)
		return err
	})
	if err != nil {
		return drivers.Reading{}, err
	}
	switch res {
	case NotZeroed:
		return drivers.Reading{Detail: "zero not executed: the weight is moving or the scale is busy [" + raw + "]"}, nil
	case ZeroRangeErr:
		return drivers.Reading{
			Faults: []wire.Fault{wire.NewFault(wire.FaultScaleZeroError, "zero outside the zero-setting range ["+raw+"]")},
			Detail: "zero refused: outside the zero-setting range [" + raw + "]",
		}, nil
	}
	return drivers.Reading{Detail: "zeroed [" + raw + "]"}, nil
}

// identity returns the cached identity after checking the serial with I4,
// reading the rest again when the serial changed (the scale was swapped). A
// busy scale (I4 I) keeps the cached identity: busy says nothing about who
// the scale is. On first contact a busy scale fails the probe with ErrBusy
// and nothing is cached, so the next probe reads the identity whole.
func (d *Driver) identity(p *scale.Port) (wire.Identity, error) {
	d.mu.Lock()
	cached := d.ident
	due := d.failed || d.every > 0 && d.probes >= d.every
	if cached != nil && !due {
		d.mu.Unlock()
		return *cached, nil
	}
	d.probes = 0
	d.mu.Unlock()
	if cached == nil {
		id, err := readIdentity(p)
		if err != nil {
			return id, err
		}
		d.mu.Lock()
		d.ident = &id
		d.mu.Unlock()
		return id, nil
	}
	serial, _, err := text(p, "I4")
	if errors.Is(err, drivers.ErrBusy) {
		return *cached, nil
	}
	if err != nil {
		return wire.Identity{}, err
	}
	if serial == cached.Serial {
		return *cached, nil
	}
	d.mu.Lock()
	d.ident = nil
	d.mu.Unlock()
	return d.identity(p)
}

func readIdentity(p *scale.Port) (wire.Identity, error) {
	id := wire.Identity{Vendor: Vendor, Extra: map[string]string{}}
	cmds, err := commands(p)
	if err != nil {
		return id, err
	}
	has := func(c string) bool { return cmds == nil || slices.Contains(cmds, c) }
	if len(cmds) > 0 {
		id.Extra["commands"] = strings.Join(cmds, " ")
	}
	if has("I1") {
		l, err := ask(p, "I1", "I1")
		if err != nil {
			return id, err
		}
		if !l.General() && l.Status == "I" {
			return id, busy(l)
		}
		if !l.General() && l.Status == "A" {
			if q, err := Quoted(l.Data); err == nil && len(q) > 0 {
				id.Extra["mt_sics_levels"] = q[0]
				id.Extra["mt_sics_versions"] = strings.Join(q[1:], " ")
			}
		}
	}
	if has("I2") {
		t, ok, err := text(p, "I2")
		if err != nil {
			return id, err
		}
		if ok {
			b := ParseBalance(t)
			id.Model = b.Type
			if b.Capacity != "" {
				id.Extra["capacity"] = b.Capacity
			}
		}
	}
	if has("I3") {
		t, _, err := text(p, "I3")
		if err != nil {
			return id, err
		}
		id.Firmware = t
	}
	t, _, err := text(p, "I4")
	if err != nil {
		return id, err
	}
	id.Serial = t
	if len(id.Extra) == 0 {
		id.Extra = nil
	}
	return id, nil
}

// commands reads the I0 list; nil when the scale does not implement I0.
func commands(p *scale.Port) ([]string, error) {
	l, err := ask(p, "I0", "I0")
	if err != nil {
		return nil, err
	}
	if l.General() {
		return nil, nil
	}
	if l.Status == "I" {
		return nil, busy(l)
	}
	var out []string
	for range maxI0 {
		cmd, more, err := CommandList(l)
		if err != nil {
			return nil, err
		}
		if cmd != "" {
			out = append(out, cmd)
		}
		if !more {
			return out, nil
		}
		if l, err = next(p, "I0"); err != nil {
			return nil, err
		}
	}
	return nil, drivers.ProtocolError("I0 list longer than %d lines", maxI0)
}

func text(p *scale.Port, cmd string) (string, bool, error) {
	l, err := ask(p, cmd, cmd)
	if err != nil {
		return "", false, err
	}
	return Text(cmd, l)
}

// ask sends cmd and returns the answer line with ID id, or a general error
// line. A transmission error (ET: our command arrived garbled) is retried
// once.
func ask(p *scale.Port, cmd, id string) (Line, error) {
	for try := 0; ; try++ {
		if err := p.Send([]byte(cmd + "\r\n")); err != nil {
			return Line{}, err
		}
		l, err := next(p, id)
		if err != nil {
			return l, fmt.Errorf("%s: %w", cmd, err)
		}
		if l.General() && l.Status == ErrTransmission && try == 0 {
			continue
		}
		return l, nil
	}
}

// next reads lines until one answers id (or is a general error). Well-formed
// lines answering other commands are passed over (a streaming scale's
// weights); one malformed line is forgiven, as the flush before a request can
// cut a streamed line in two, but a second means the bytes are not MT-SICS.
func next(p *scale.Port, id string) (Line, error) {
	var bad error
	for range maxSkip {
		b, err := p.Frame([]byte("\r\n"), maxLine)
		if err != nil {
			if bad != nil {
				return Line{}, errors.Join(bad, err)
			}
			return Line{}, err
		}
		l, err := ParseLine(b)
		switch {
		case err != nil && bad != nil:
			return Line{}, err
		case err != nil:
			bad = err
		case l.General() || l.ID == id:
			return l, nil
		}
	}
	return Line{}, drivers.ProtocolError("no answer with ID %s in %d lines", id, maxSkip)
}
