//go:build unix

package all_test

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// probeCase is one driver on one transport, as the benchmark suite's store
// has it (bench/store.go): the devsim emulator to serve and the device.
type probeCase struct {
	name, driver, kind, emulator string
	pty                          bool
}

var probeCases = []probeCase{
	{"escpos/tcp", "escpos", "receipt_printer", "escpos", false},
	{"escpos/serial", "escpos", "receipt_printer", "escpos", true},
	{"zpl/tcp", "zpl", "label_printer", "zpl", false},
	{"zpl/serial", "zpl", "label_printer", "zpl", true},
	{"sics/serial", "sics", "scale", "sics", true},
	{"nci/serial", "nci", "scale", "nci", true},
	{"toledo/serial", "toledo", "scale", "toledo", true},
	{"ssi/serial", "ssi", "scanner", "ssi", true},
	{"zvt/tcp", "zvt", "payment_terminal", "zvt", false},
	{"netprobe/tcp", "netprobe", "pos_pc", "escpos", false}, // a port that accepts, as a POS PC's
}

// BenchmarkProbe is the agent's CPU per check, per driver: one probe of a
// healthy emulated device, as the collector runs it (a timeout of the
// driver's exchanges times 2 s, the benchmark store's). The emulators run
// in devsim processes of their own, so cpu-µs/check (this process's user
// and system time over the checks, from getrusage) is the agent side alone:
// the driver, the transport, the syscalls and the garbage they make.
// ns/op is wall time and includes the emulator's answers.
//
//	go test -run '^$' -bench BenchmarkProbe -benchtime 2000x ./drivers/all
func BenchmarkProbe(b *testing.B) {
	devsim := filepath.Join(b.TempDir(), "devsim")
	if out, err := exec.Command("go", "build", "-o", devsim, "github.com/storewatch/storewatch/cmd/devsim").CombinedOutput(); err != nil {
		b.Fatalf("build devsim: %v\n%s", err, out)
	}
	for _, pc := range probeCases {
		b.Run(pc.name, func(b *testing.B) {
			addr := serveDevsim(b, devsim, pc.emulator, pc.pty)
			a, err := transport.Parse(addr)
			if err != nil {
				b.Fatal(err)
			}
			p, err := drivers.New(pc.driver, drivers.Spec{ID: "bench-1", Kind: pc.kind, Address: a, Timeout: 2 * time.Second, Options: drivers.NewOptions(nil)})
			if err != nil {
				b.Fatal(err)
			}
			if c, ok := p.(drivers.Closer); ok {
				defer c.Close()
			}
			timeout := drivers.ProbeTimeout(p, 2*time.Second)
			probe := func() {
				ctx, cancel := context.WithTimeout(context.Background(), timeout)
				defer cancel()
				r, err := p.Probe(ctx)
				if err != nil || len(r.Faults) > 0 {
					b.Fatalf("probe of a healthy %s: %+v, %v", pc.name, r, err)
				}
			}
			probe() // identity reads and first connections out of the way
			b.ReportAllocs()
			before := cpuTime(b)
			b.ResetTimer()
			for b.Loop() {
				probe()
			}
			b.StopTimer()
			b.ReportMetric(float64(cpuTime(b)-before)/float64(time.Microsecond)/float64(b.N), "cpu-µs/check")
		})
	}
}

// serveDevsim starts one emulator in a devsim process and returns the
// address the agent would configure for it.
func serveDevsim(b *testing.B, devsim, emulator string, pty bool) string {
	b.Helper()
	args := []string{emulator, "--tcp", "127.0.0.1:0"}
	if pty {
		args = []string{emulator, "--pty", "--lone"}
	}
	cmd := exec.Command(devsim, args...)
	stdin, err := cmd.StdinPipe() // devsim serves until its stdin closes and a signal comes
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { stdin.Close() })
	p := testenv.StartCmd(b, cmd)
	b.Cleanup(func() { p.Stop(5 * time.Second) })
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !p.Exited(); time.Sleep(20 * time.Millisecond) {
		for _, line := range strings.Split(p.Output(), "\n") {
			if _, after, ok := strings.Cut(line, " listening on "); ok {
				return after
			}
			if _, after, ok := strings.Cut(line, " on serial://"); ok {
				return "serial://" + after
			}
		}
	}
	b.Fatalf("devsim %s: no address in its output\n%s", emulator, p.Output())
	return ""
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
