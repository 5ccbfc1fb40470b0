package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
)

// Base is what every scale driver holds between probes: its name (for
// errors), its line, its timeout and its motion run. Drivers embed it.
type Base struct {
	Name    string
	Line    Line
	Timeout time.Duration
	Motion  *Motion
}

// NewBase reads what all scale drivers share from spec: the address with
// the driver's serial defaults, the timeout, and the motion options. The
// driver reads its own options after it and then calls spec.Options.Err.
func NewBase(name string, spec *drivers.Spec, def transport.SerialMode, seven func(transport.SerialMode) bool) (Base, error) {
	line, err := NewLine(spec.Address, def, seven)
	if err != nil {
		return Base{}, err
	}
	return Base{Name: name, Line: line, Timeout: spec.Timeout, Motion: NewMotion(&spec.Options)}, nil
}

// SetClock replaces the clock the unstable timer reads, for tests.
func (b *Base) SetClock(now func() time.Time) { b.Motion.Now = now }

// Weigh is Probe on the driver's line.
func (b *Base) Weigh(ctx context.Context, weigh func(*Port) (Status, error)) (drivers.Reading, error) {
	return Probe(ctx, b.Name, b.Line, b.Timeout, b.Motion, weigh)
}

// Zero is the package's Zero on the driver's line.
func (b *Base) Zero(ctx context.Context, ask func(*Port) (Status, error)) (drivers.Reading, error) {
	return Zero(ctx, b.Name, b.Line, b.Timeout, ask)
}

// Exchange is the package's Exchange on the driver's line.
func (b *Base) Exchange(ctx context.Context, talk func(*Port) error) error {
	return Exchange(ctx, b.Name, b.Line, b.Timeout, talk)
}

// DefaultTimeout bounds one probe when the device's config gives no timeout.
// NCI's DIVA manual calls one second per answer adequate; MT-SICS asks a few
// questions per probe.
const DefaultTimeout = 3 * time.Second

// Exchange opens the line for one conversation, runs talk, and closes it.
// Errors name the driver and the address. The whole conversation is bounded
// by timeout (DefaultTimeout when 0) or ctx's own deadline if earlier.
func Exchange(ctx context.Context, driver string, l Line, timeout time.Duration, talk func(*Port) error) error {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	p, err := l.Open(ctx)
	if err != nil {
		return fmt.Errorf("%s %s: %w", driver, l.Addr, err)
	}
	defer p.Close()
	if err := talk(p); err != nil {
		return fmt.Errorf("%s %s: %w", driver, l.Addr, err)
	}
	return nil
}

// Probe is Exchange for a health probe: weigh reads a Status, which m turns
// into the Reading. A probe without a usable answer ends the motion run.
func Probe(ctx context.Context, driver string, l Line, timeout time.Duration, m *Motion, weigh func(*Port) (Status, error)) (drivers.Reading, error) {
	var st Status
	err := Exchange(ctx, driver, l, timeout, func(p *Port) error {
		var err error
		st, err = weigh(p)
		return err
	})
	if err != nil {
		m.Reset()
		return drivers.Reading{}, err
	}
	return m.Read(st), nil
}

// Zero runs a protocol's zero command outside the probe sequence and turns
// the status it answers with into a Reading (motion described, never a
// fault; the motion run left alone). Probes never zero: polling must not
// change a scale's state.
func Zero(ctx context.Context, driver string, l Line, timeout time.Duration, ask func(*Port) (Status, error)) (drivers.Reading, error) {
	var st Status
	err := Exchange(ctx, driver, l, timeout, func(p *Port) (err error) {
		st, err = ask(p)
		return err
	})
	if err != nil {
		return drivers.Reading{}, err
	}
	return Snapshot(st), nil
}
