package scale

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
)

// Base is what every scale driver holds between probes: its name (for
// errors), its line, the time each exchange may take, what a probe costs,
// and its motion run. Drivers embed it, and with it ProbeCost.
type Base struct {
	Name    string
	Line    Line
	Timeout time.Duration // one request→answer exchange; DefaultTimeout when 0
	// Cost is the longest probe's exchanges and bytes; the whole probe may
	// take Cost.Exchanges times Timeout (drivers.ProbeTimeout).
	Cost   drivers.Cost
	Motion *Motion
	// Heard, when set, reads the last whole weight record in what the
	// scale sent the POS application through a serial tap (answers to the
	// POS's own requests, or a stream it switched on); ok is false when
	// there is none.
	Heard func(b []byte) (st Status, ok bool)

	// heardEnd is how the bytes overheard at the previous probe ended.
	// Put before the next bytes, it tells Heard whether they begin a
	// record (after a "\r\n" or a CR ETX) or the middle of one: without
	// it a record that came whole right after the previous probe would
	// look like the tail of an older one and be skipped, and a probe
	// that heard a single record would speak on a streaming line.
	heardEnd []byte
}

// heardEndLen is how many of the previous bytes heardEnd keeps: the
// longest record terminator of the scale protocols (CR LF, CR ETX).
const heardEndLen = 2

// NewBase reads what all scale drivers share from spec: the address with
// the driver's serial defaults, the timeout, and the motion options. The
// driver sets Cost, reads its own options after it and then calls
// spec.Options.Err.
func NewBase(name string, spec *drivers.Spec, def transport.SerialMode, seven func(transport.SerialMode) bool) (Base, error) {
	line, err := NewLine(spec.Address, def, seven)
	if err != nil {
		return Base{}, err
	}
	timeout := spec.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return Base{Name: name, Line: line, Timeout: timeout, Cost: drivers.Cost{Exchanges: 1}, Motion: NewMotion(&spec.Options)}, nil
}

// ProbeCost implements drivers.Costed.
func (b *Base) ProbeCost() drivers.Cost { return b.Cost }

// SetClock replaces the clock the unstable timer reads, for tests.
func (b *Base) SetClock(now func() time.Time) { b.Motion.Now = now }

// DefaultTimeout bounds one exchange when the device's config gives no
// timeout. NCI's DIVA manual calls one second per answer adequate.
const DefaultTimeout = 3 * time.Second

// Exchange opens the line for one conversation, runs talk, and closes it.
// Errors name the driver and the address. Each exchange (Port.Send and the
// answer read after it) may take Timeout; the whole conversation is bounded
// by Cost.Exchanges times that, or by ctx's own deadline if earlier.
func (b *Base) Exchange(ctx context.Context, talk func(*Port) error) error {
	ctx, cancel := context.WithTimeout(ctx, time.Duration(max(1, b.Cost.Exchanges))*b.Timeout)
	defer cancel()
	p, err := b.Line.Open(ctx, b.Timeout)
	if err != nil {
		return fmt.Errorf("%s %s: %w", b.Name, b.Line.Addr, err)
	}
	defer p.Close()
	if err := talk(p); err != nil {
		return fmt.Errorf("%s %s: %w", b.Name, b.Line.Addr, err)
	}
	return nil
}

// Weigh is the health probe: weigh reads a Status, which the motion run
// turns into the Reading. A probe without a usable answer ends the run.
//
// On a tapped line where the scale has told the POS application its weight
// since the last probe, that record is the reading: the agent does not ask
// a scale that speaks anyway (a weight stream leaves the line no idle gap).
func (b *Base) Weigh(ctx context.Context, weigh func(*Port) (Status, error)) (drivers.Reading, error) {
	if b.Heard != nil {
		heard := append(slices.Clip(b.heardEnd), transport.Overheard(b.Line.Addr)...)
		b.heardEnd = slices.Clone(heard[max(0, len(heard)-heardEndLen):])
		if st, ok := b.Heard(heard); ok {
			r := b.Motion.Read(st)
			r.Detail += "; heard on the tap, sent to the POS application"
			return r, nil
		}
	}
	// The scale's answers to this exchange go to the agent, not to what
	// the tap overhears: the next bytes overheard do not follow heardEnd.
	b.heardEnd = nil
	var st Status
	err := b.Exchange(ctx, func(p *Port) error {
		var err error
		st, err = weigh(p)
		return err
	})
	if err != nil {
		b.Motion.Reset()
		return drivers.Reading{}, err
	}
	return b.Motion.Read(st), nil
}

// Zero runs a protocol's zero command outside the probe sequence and turns
// the status it answers with into a Reading (motion described, never a
// fault; the motion run left alone). Probes never zero: polling must not
// change a scale's state.
func (b *Base) Zero(ctx context.Context, ask func(*Port) (Status, error)) (drivers.Reading, error) {
	var st Status
	err := b.Exchange(ctx, func(p *Port) (err error) {
		st, err = ask(p)
		return err
	})
	if err != nil {
		return drivers.Reading{}, err
	}
	return Snapshot(st), nil
}
