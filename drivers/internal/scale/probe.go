package scale

import (
	"context"
	"fmt"
	"time"

	"github.com/storewatch/storewatch/drivers"
)

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
