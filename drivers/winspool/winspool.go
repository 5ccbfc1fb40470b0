package winspool

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Defaults.
const (
	DefaultStuckAfter = 10 * time.Minute
	defaultTimeout    = 5 * time.Second
)

func init() {
	drivers.Register(drivers.Info{
		Name:        "winspool",
		Description: "printers behind the Windows print spooler: printer status (GetPrinter level 2) and stuck jobs (EnumJobs)",
		Kinds:       []string{"receipt_printer", "label_printer", "network_printer"},
		Schemes:     []string{"winspool"},
		Faults: []wire.FaultCode{
			wire.FaultPaperOut, wire.FaultPaperJam, wire.FaultCoverOpen, wire.FaultConsumableLow, wire.FaultConsumableOut,
			wire.FaultOffline, wire.FaultQueueStopped, wire.FaultJobsStuck, wire.FaultUnknownDevice,
		},
		Options: []drivers.Option{
			{Name: "stuck_after", Type: drivers.OptionDuration, Default: "10m", Doc: "a job not printed after this long raises jobs_stuck; 0s never"},
		},
		New: func(s drivers.Spec) (drivers.Prober, error) { return New(s) },
	})
}

// spooler reads one printer and its unfinished jobs.
type spooler interface {
	Printer(name string) (Printer, []Job, error)
}

// errNoPrinter says the spooler knows no printer of that name; the error
// lists the ones it knows.
var errNoPrinter = errors.New("no such printer")

// systemSpooler is Windows' print spooler (spooler_windows.go); nil where
// there is none.
var systemSpooler spooler

// Driver reads one printer of the spooler.
type Driver struct {
	name       string
	stuckAfter time.Duration
	timeout    time.Duration
	expected   *wire.Identity
	spooler    spooler
	now        func() time.Time
}

// New builds the driver. Address: winspool:PRINTER NAME. Options:
//
//	stuck_after  a job not printed after this long makes jobs_stuck (default 10m; 0s: never)
func New(s drivers.Spec) (*Driver, error) {
	return newDriver(s, systemSpooler)
}

func newDriver(s drivers.Spec, sp spooler) (*Driver, error) {
	o := s.Options
	d := &Driver{name: s.Address.Path, stuckAfter: o.Duration("stuck_after", DefaultStuckAfter), timeout: s.Timeout,
		expected: s.Expected, spooler: sp, now: time.Now}
	if d.stuckAfter < 0 {
		o.Fail("option stuck_after: %v; want 0s (never) or more", d.stuckAfter)
	}
	if err := o.Err(); err != nil {
		return nil, err
	}
	if s.Address.Scheme != "winspool" || d.name == "" {
		return nil, fmt.Errorf("winspool: the address is winspool:PRINTER NAME, as Windows lists the printer, not %s", s.Address)
	}
	if sp == nil {
		return nil, errors.New("winspool: the Windows print spooler exists only on Windows (on Linux, the cups driver reads print queues)")
	}
	if d.timeout <= 0 {
		d.timeout = defaultTimeout
	}
	return d, nil
}

// Probe reads the printer's status and its unfinished jobs. The spooler's
// calls cannot be cancelled: a spooler that hangs makes the probe give up
// at its timeout, and the call's goroutine ends when the spooler answers.
func (d *Driver) Probe(ctx context.Context) (drivers.Reading, error) {
	ctx, cancel := context.WithTimeout(ctx, d.timeout)
	defer cancel()
	type answer struct {
		p    Printer
		jobs []Job
		err  error
	}
	ch := make(chan answer, 1)
	start := time.Now()
	go func() {
		p, jobs, err := d.spooler.Printer(d.name)
		ch <- answer{p, jobs, err}
	}()
	var a answer
	select {
	case a = <-ch:
	case <-ctx.Done():
		return drivers.Reading{}, fmt.Errorf("winspool %s: the print spooler did not answer: %w", d.name, ctx.Err())
	}
	if a.err != nil {
		return drivers.Reading{}, fmt.Errorf("winspool %s: %w", d.name, a.err)
	}
	q := queueOf(a.p, a.jobs, d.now())
	stuck := d.stuckAfter
	r := drivers.Reading{
		Faults:       q.Faults(stuck),
		Measurements: map[string]float64{"rtt_ms": float64(time.Since(start).Microseconds()) / 1000, "queued_jobs": float64(len(q.Jobs))},
		Detail:       describe(a.p, q),
	}
	if id := identity(a.p); !id.IsZero() {
		r.Identity = &id
		if f, bad := drivers.IdentityMismatch(d.expected, id); bad {
			r.Faults = append(r.Faults, f)
		}
	}
	return r, nil
}

// identity is what the spooler knows of the printer: its driver's name
// ("EPSON TM-T88V Receipt": the vendor, then the model) and its port. The
// spooler knows no serial number.
func identity(p Printer) wire.Identity {
	id := wire.Identity{Extra: map[string]string{}}
	if p.Driver != "" {
		id.Extra["driver"] = p.Driver
		vendor, model, ok := strings.Cut(p.Driver, " ")
		if ok {
			id.Vendor, id.Model = vendor, model
		} else {
			id.Model = p.Driver
		}
	}
	if p.Port != "" {
		id.Extra["port"] = p.Port
	}
	if len(id.Extra) == 0 {
		id.Extra = nil
	}
	return id
}

// unreachable wraps err as transport.ErrUnreachable: the printer or the
// spooler is not there.
func unreachable(format string, args ...any) error {
	return fmt.Errorf("%w: %s", transport.ErrUnreachable, fmt.Sprintf(format, args...))
}
