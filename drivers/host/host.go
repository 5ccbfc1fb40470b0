package host

import (
	"context"
	"fmt"
	"path/filepath"
	"sort"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Source supplies the figures the checks judge.
type Source interface {
	// DiskFreePercent returns the share of free space on the file system
	// holding path.
	DiskFreePercent(ctx context.Context, path string) (float64, error)
	// Memory returns the share of memory available to new programs.
	MemoryAvailablePercent(ctx context.Context) (float64, error)
	// ProcessNames returns the names of running processes.
	ProcessNames(ctx context.Context) ([]string, error)
}

// Stats is optional: figures that are sampled but raise no fault.
type Stats interface {
	CPUPercent(ctx context.Context) (float64, error)
	UptimeSeconds(ctx context.Context) (float64, error)
}

// Disk is a watched file system.
type Disk struct {
	Path           string
	MinFreePercent float64
}

// Config is what to check.
type Config struct {
	Disks          []Disk
	MinMemAvailPct float64  // 0: memory is sampled, never judged
	Processes      []string // names that must be running
}

// Checker is the host driver.
type Checker struct {
	cfg Config
	src Source
}

// New returns a checker reading figures from src (System() in production).
func New(cfg Config, src Source) *Checker { return &Checker{cfg: cfg, src: src} }

var _ drivers.Prober = (*Checker)(nil)

// Probe runs every check. A figure that cannot be read is reported in the
// detail and skipped rather than failing the whole reading: one unreadable
// mount should not hide a stopped POS application.
func (c *Checker) Probe(ctx context.Context) (drivers.Reading, error) {
	r := drivers.Reading{Measurements: map[string]float64{}}
	var notes, lowDisks []string

	for _, d := range c.cfg.Disks {
		free, err := c.src.DiskFreePercent(ctx, d.Path)
		if err != nil {
			notes = append(notes, fmt.Sprintf("disk %s: %v", d.Path, err))
			continue
		}
		r.Measurements["disk_free_percent:"+d.Path] = round1(free)
		if free < d.MinFreePercent {
			lowDisks = append(lowDisks, fmt.Sprintf("%s has %.1f%% free (minimum %g%%)", d.Path, free, d.MinFreePercent))
		}
	}
	if len(lowDisks) > 0 {
		r.Faults = append(r.Faults, wire.NewFault(wire.FaultDiskLow, strings.Join(lowDisks, "; ")))
	}

	if avail, err := c.src.MemoryAvailablePercent(ctx); err != nil {
		notes = append(notes, fmt.Sprintf("memory: %v", err))
	} else {
		r.Measurements["memory_available_percent"] = round1(avail)
		if c.cfg.MinMemAvailPct > 0 && avail < c.cfg.MinMemAvailPct {
			r.Faults = append(r.Faults, wire.NewFault(wire.FaultMemoryLow,
				fmt.Sprintf("%.1f%% of memory available (minimum %g%%)", avail, c.cfg.MinMemAvailPct)))
		}
	}

	if len(c.cfg.Processes) > 0 {
		names, err := c.src.ProcessNames(ctx)
		if err != nil {
			notes = append(notes, fmt.Sprintf("processes: %v", err))
		} else if missing := missingProcesses(c.cfg.Processes, names); len(missing) > 0 {
			r.Faults = append(r.Faults, wire.NewFault(wire.FaultProcessDown, "not running: "+strings.Join(missing, ", ")))
		}
	}

	if s, ok := c.src.(Stats); ok {
		if v, err := s.CPUPercent(ctx); err == nil {
			r.Measurements["cpu_percent"] = round1(v)
		}
		if v, err := s.UptimeSeconds(ctx); err == nil {
			r.Measurements["uptime_s"] = v
		}
	}
	if ctx.Err() != nil {
		return drivers.Reading{}, fmt.Errorf("host checks: %w", ctx.Err())
	}
	r.Detail = fmt.Sprintf("%d disks, %d processes checked", len(c.cfg.Disks), len(c.cfg.Processes))
	if len(notes) > 0 {
		r.Detail += "; " + strings.Join(notes, "; ")
	}
	return r, nil
}

// missingProcesses compares process names the way people write them: a path
// matches its base name, case does not matter (a false process_down costs a
// ticket), and "pos" matches "pos.exe".
func missingProcesses(want, running []string) []string {
	have := map[string]bool{}
	for _, n := range running {
		have[normalise(n)] = true
	}
	var missing []string
	for _, w := range want {
		if !have[normalise(w)] {
			missing = append(missing, w)
		}
	}
	sort.Strings(missing)
	return missing
}

func normalise(name string) string {
	name = strings.ToLower(filepath.Base(strings.TrimSpace(name)))
	return strings.TrimSuffix(name, ".exe")
}

func round1(v float64) float64 { return float64(int64(v*10+0.5)) / 10 }
