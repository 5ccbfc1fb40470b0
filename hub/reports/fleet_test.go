package reports_test

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
)

func writeFleet(tb testing.TB, path string, spec reportgen.FleetSpec) (*store.Bolt, reportgen.FleetTruth) {
	tb.Helper()
	st, err := store.OpenBolt(path)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	truth, err := reportgen.WriteFleet(st, spec)
	if err != nil {
		tb.Fatal(err)
	}
	return st, truth
}

// A random fleet's totals are known by construction: every device is
// installed through the period and its failures never overlap.
func TestFleetTotalsMatchWhatWasGenerated(t *testing.T) {
	spec := reportgen.FleetSpec{Tenant: "acme", Stores: 120, DevicesPerStore: 3, FailuresPerDevice: 4, From: from, To: to, Seed: 99}
	st, truth := writeFleet(t, filepath.Join(t.TempDir(), "hub.db"), spec)
	r, err := reports.Compute(context.Background(), st, reports.Filter{Tenant: "acme", From: from, To: to})
	if err != nil {
		t.Fatal(err)
	}
	got := r.Totals
	if got.Devices != truth.Devices || got.DeviceMonths != truth.DeviceMonths || got.Failures != truth.Failures ||
		got.DowntimeHours != truth.Downtime.Hours() || got.Incidents != truth.Incidents {
		t.Errorf("totals %+v\n truth %+v (downtime %v h)", got, truth, truth.Downtime.Hours())
	}
	hours, sla := 0, 0
	for _, row := range r.WeekdayHour {
		for _, n := range row {
			hours += n
		}
	}
	for _, s := range r.SLA {
		sla += s.Incidents
	}
	if hours != truth.Failures || sla != truth.Incidents || r.SelfResolved.Overall.SelfResolved != truth.Incidents {
		t.Errorf("heat map holds %d failures, SLA %d incidents, self-resolved %+v", hours, sla, r.SelfResolved.Overall)
	}
}

func TestComputeStopsWhenTheContextEnds(t *testing.T) {
	spec := reportgen.FleetSpec{Tenant: "acme", Stores: 60, DevicesPerStore: 3, FailuresPerDevice: 4, From: from, To: to, Seed: 1}
	st, _ := writeFleet(t, filepath.Join(t.TempDir(), "hub.db"), spec)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := reports.Compute(ctx, st, reports.Filter{From: from, To: to}); err == nil || ctx.Err() == nil {
		t.Errorf("a cancelled report ran to the end: %v", err)
	}
}

// countingSource counts the log entries a report decodes.
type countingSource struct {
	*store.Bolt
	entries atomic.Int64
}

func (c *countingSource) ScanLog(from, to time.Time, kinds []incident.LogKind, fn func(incident.LogEntry) error) error {
	return c.Bolt.ScanLog(from, to, kinds, func(l incident.LogEntry) error {
		c.entries.Add(1)
		return fn(l)
	})
}

// BenchmarkYearReport computes a year's report for a fleet written once
// into a bbolt file: REPORTS_BENCH_STORES stores (default 1000) of 5
// devices, each failing once a month (half the failures with an incident),
// plus a warning episode per failure. It reports the year's log entries
// scanned per second, how many of them were decoded (the rest are skipped by
// kind), and the peak heap in use while computing, sampled every 10 ms;
// figures and the command are in docs/benchmarks.md.
func BenchmarkYearReport(b *testing.B) {
	stores := 1000
	if v := os.Getenv("REPORTS_BENCH_STORES"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("REPORTS_BENCH_STORES=%q", v)
		}
		stores = n
	}
	year0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	year1 := year0.AddDate(1, 0, 0)
	path := filepath.Join(b.TempDir(), "hub.db")
	started := time.Now()
	st, truth := writeFleet(b, path, reportgen.FleetSpec{Tenant: "acme", Stores: stores, DevicesPerStore: 5, FailuresPerDevice: 12,
		From: year0, To: year1, Seed: 2025})
	if fi, err := os.Stat(path); err == nil {
		b.Logf("fleet of %d stores written in %v: %d devices, %d failures, %d incidents, file %d MiB",
			stores, time.Since(started).Round(time.Second), truth.Devices, truth.Failures, truth.Incidents, fi.Size()>>20)
	}
	logEntries := 0
	if err := st.ScanLog(year0, year1, nil, func(incident.LogEntry) error { logEntries++; return nil }); err != nil {
		b.Fatal(err)
	}
	src := &countingSource{Bolt: st}
	runtime.GC()
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var ms runtime.MemStats
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		r, err := reports.Compute(context.Background(), src, reports.Filter{Tenant: "acme", From: year0, To: year1})
		if err != nil {
			b.Fatal(err)
		}
		if r.Totals.Failures != truth.Failures {
			b.Fatalf("%d failures, generated %d", r.Totals.Failures, truth.Failures)
		}
	}
	b.StopTimer()
	close(stop)
	wg.Wait()
	b.ReportMetric(float64(logEntries*b.N)/b.Elapsed().Seconds(), "log-entries/s")
	b.ReportMetric(float64(logEntries), "log-entries/op")
	b.ReportMetric(float64(src.entries.Load())/float64(b.N), "decoded/op")
	b.ReportMetric(float64(peak.Load())/(1<<20), "peak-heap-MiB")
}
