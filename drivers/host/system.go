package host

import (
	"context"

	"github.com/shirou/gopsutil/v4/cpu"
	"github.com/shirou/gopsutil/v4/disk"
	gohost "github.com/shirou/gopsutil/v4/host"
	"github.com/shirou/gopsutil/v4/mem"
	"github.com/shirou/gopsutil/v4/process"
)

// System reads the real machine through gopsutil. Every call takes the
// probe's context: on Windows some figures come from WMI, which can hang.
func System() Source { return system{} }

type system struct{}

func (system) DiskFreePercent(ctx context.Context, path string) (float64, error) {
	u, err := disk.UsageWithContext(ctx, path)
	if err != nil {
		return 0, err
	}
	if u.Total == 0 {
		return 100, nil
	}
	return 100 * float64(u.Free) / float64(u.Total), nil
}

func (system) MemoryAvailablePercent(ctx context.Context) (float64, error) {
	v, err := mem.VirtualMemoryWithContext(ctx)
	if err != nil {
		return 0, err
	}
	if v.Total == 0 {
		return 100, nil
	}
	return 100 * float64(v.Available) / float64(v.Total), nil
}

func (system) ProcessNames(ctx context.Context) ([]string, error) {
	pids, err := process.PidsWithContext(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(pids))
	for _, pid := range pids {
		p, err := process.NewProcessWithContext(ctx, pid)
		if err != nil {
			continue // ended meanwhile
		}
		if n, err := p.NameWithContext(ctx); err == nil {
			names = append(names, n)
		}
	}
	return names, nil
}

func (system) CPUPercent(ctx context.Context) (float64, error) {
	// Interval 0 compares with the previous call, so a poll costs nothing
	// extra; the first call after start reports since boot.
	v, err := cpu.PercentWithContext(ctx, 0, false)
	if err != nil || len(v) == 0 {
		return 0, err
	}
	return v[0], nil
}

func (system) UptimeSeconds(ctx context.Context) (float64, error) {
	u, err := gohost.UptimeWithContext(ctx)
	return float64(u), err
}
