package host

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/wire"
)

// figures is a fixed Source.
type figures struct {
	disks     map[string]float64
	mem       float64
	processes []string
	procErr   error
}

func (f figures) DiskFreePercent(_ context.Context, path string) (float64, error) {
	v, ok := f.disks[path]
	if !ok {
		return 0, errors.New("no such file system")
	}
	return v, nil
}
func (f figures) MemoryAvailablePercent(context.Context) (float64, error) { return f.mem, nil }
func (f figures) ProcessNames(context.Context) ([]string, error)          { return f.processes, f.procErr }

func codes(fs []wire.Fault) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Code))
	}
	return strings.Join(out, ",")
}

func TestHostChecks(t *testing.T) {
	cfg := Config{
		Disks:          []Disk{{Path: "/", MinFreePercent: 10}, {Path: "/var", MinFreePercent: 5}},
		MinMemAvailPct: 5,
		Processes:      []string{"posd", "POSAPP"},
	}
	cases := []struct {
		name       string
		src        figures
		wantFaults string
		wantDetail string
	}{
		{"healthy", figures{disks: map[string]float64{"/": 40, "/var": 50}, mem: 60, processes: []string{"/usr/bin/posd", "posapp.exe", "sshd"}}, "", ""},
		{"disk low", figures{disks: map[string]float64{"/": 4.25, "/var": 50}, mem: 60, processes: []string{"posd", "posapp"}}, "disk_low", "/ has 4.2% free (minimum 10%)"},
		{"memory low", figures{disks: map[string]float64{"/": 40, "/var": 50}, mem: 2, processes: []string{"posd", "posapp"}}, "memory_low", "2.0% of memory available"},
		{"process down", figures{disks: map[string]float64{"/": 40, "/var": 50}, mem: 60, processes: []string{"posd"}}, "process_down", "not running: POSAPP"},
		{"unreadable mount does not hide other faults", figures{disks: map[string]float64{"/": 40}, mem: 60, processes: []string{"posapp"}}, "process_down", "disk /var: no such file system"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r, err := New(cfg, c.src).Probe(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got := codes(r.Faults); got != c.wantFaults {
				t.Errorf("faults = %q, want %q", got, c.wantFaults)
			}
			all := r.Detail
			for _, f := range r.Faults {
				all += " " + f.Detail
			}
			if !strings.Contains(all, c.wantDetail) {
				t.Errorf("details %q lack %q", all, c.wantDetail)
			}
		})
	}
}

func TestDiskLowFaultSeverity(t *testing.T) {
	r, _ := New(Config{Disks: []Disk{{Path: "/", MinFreePercent: 10}}}, figures{disks: map[string]float64{"/": 1}, mem: 50}).Probe(context.Background())
	if len(r.Faults) != 1 || r.Faults[0].Severity != wire.SeverityWarning || r.Faults[0].Remedy != wire.RemedyRemote {
		t.Errorf("faults = %+v", r.Faults)
	}
	if r.Measurements["disk_free_percent:/"] != 1 {
		t.Errorf("measurements = %v", r.Measurements)
	}
}

// The real source must work on the machine the tests run on.
func TestSystemSource(t *testing.T) {
	self, _ := os.Executable()
	r, err := New(Config{Disks: []Disk{{Path: os.TempDir(), MinFreePercent: 0.0001}}, Processes: []string{self}}, System()).Probe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Faults) != 0 {
		t.Errorf("faults on this machine: %+v (the test binary itself must count as running)", r.Faults)
	}
	for _, m := range []string{"disk_free_percent:" + os.TempDir(), "memory_available_percent", "cpu_percent", "uptime_s"} {
		if _, ok := r.Measurements[m]; !ok {
			t.Errorf("no %s in %v", m, r.Measurements)
		}
	}
}
