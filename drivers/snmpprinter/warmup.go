package snmpprinter

import (
	"fmt"
	"sync"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// DefaultWarmupLimit is how long a printer may warm up before that is a
// fault. A laser printer leaving power save is ready in well under a minute
// and a cold start takes a minute or two; one still warming up after five
// has a fuser or heater that does not come up to temperature.
const DefaultWarmupLimit = 5 * time.Minute

// hrPrinterStatus warmup(5) and hrPrinterDetectedErrorState's offline bit.
const (
	printerWarmup = 5
	bitOffline    = 6
)

// warmup keeps, across probes, since when the printer has been warming up:
// the driver is called once a poll, so the "since when" lives here, in the
// driver instance. Warming up (hrPrinterStatus warmup(5)) is normal: a
// printer reports itself down or offline while its fuser heats (RFC 3805
// lists down/warmup as "moving on-line"), and that is not a fault. One that
// never ends is.
type warmup struct {
	limit time.Duration
	now   func() time.Time

	mu    sync.Mutex
	since time.Time // zero: not warming up at the last successful probe
}

// observe records what a successful probe saw. While warming up it returns
// a line for the reading's detail and, once the warm-up has lasted longer
// than limit, an offline fault saying so. A probe that sees the printer not
// warming up ends the warm-up; a failed probe does not call observe, so a
// printer too busy to answer while it heats keeps its start time.
func (w *warmup) observe(warming bool) (string, *wire.Fault) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !warming {
		w.since = time.Time{}
		return "", nil
	}
	now := w.now()
	if w.since.IsZero() {
		w.since = now
	}
	d := now.Sub(w.since).Round(time.Second)
	if now.Sub(w.since) <= w.limit {
		return fmt.Sprintf("warming up for %s (a fault after warmup_limit %s)", d, w.limit), nil
	}
	f := wire.NewFault(wire.FaultOffline, fmt.Sprintf(
		"hrPrinterStatus warmup(5) since %s, for %s: longer than warmup_limit %s; the printer does not become ready (fuser or heater not reaching temperature?)",
		w.since.UTC().Format(time.RFC3339), d, w.limit))
	return fmt.Sprintf("warming up for %s, longer than warmup_limit %s", d, w.limit), &f
}

// Without returns a copy of e with bit k cleared.
func (e ErrorState) Without(k int) ErrorState {
	out := append(ErrorState(nil), e...)
	if k >= 0 && k/8 < len(out) {
		out[k/8] &^= 0x80 >> (k % 8)
	}
	return out
}
