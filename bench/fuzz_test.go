package bench

import (
	"bytes"
	"strings"
	"testing"
)

// What zabbix_agent2 sends the harness is read by ReadZabbixFrame: any
// bytes give data or an error, never a panic, and data read from a frame
// reads back the same from a plain frame made of it.
func FuzzReadZabbixFrame(f *testing.F) {
	f.Add(ZabbixFrame([]byte(`{"request":"active checks","host":"bench-store"}`)))
	f.Add([]byte("ZBXD\x05\x02\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Add([]byte("ZBXD\x03\x05\x00\x00\x00\x0c\x00\x00\x00x\x9c\x00\x00\x00"))
	f.Add([]byte("HTTP/1.1 200 OK\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		data, err := ReadZabbixFrame(bytes.NewReader(in))
		if err != nil {
			return
		}
		again, err := ReadZabbixFrame(bytes.NewReader(ZabbixFrame(data)))
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("re-framed %q read back as %q, %v", data, again, err)
		}
	})
}

// ParseGoBench reads `go test -bench` output: every result it returns is a
// benchmark line with its count, whatever else the output holds.
func FuzzParseGoBench(f *testing.F) {
	f.Add("BenchmarkOutboxAppend-2   \t  200000\t      3300 ns/op\t    300000 events/s\nPASS\n")
	f.Add("goos: linux\nBenchmarkX 1 2 a/b 3\nok x 1s\n")
	f.Fuzz(func(t *testing.T, out string) {
		for _, r := range ParseGoBench(out) {
			if !strings.HasPrefix(r.Name, "Benchmark") || r.Metrics == nil {
				t.Fatalf("result %+v from %q", r, out)
			}
		}
	})
}

// statCPU reads /proc/PID/stat lines, whose command field may hold spaces
// and parentheses: any line gives a time or an error, never a panic, and
// never a negative time (negative or overflowing fields are errors).
func FuzzStatCPU(f *testing.F) {
	f.Add("1234 (storeagent) S 1 1234 1234 0 -1 4194560 100 0 0 0 25 12 0 0 20 0 8 0 100 0 0")
	f.Add("1 (a) b) R 0 0 0 0 0 0 0 0 0 0 7 3")
	f.Add("no parenthesis")
	f.Add("1 (x) S 0 0 0 0 0 0 0 0 0 0 -5 3")
	f.Add("1 (x) S 0 0 0 0 0 0 0 0 0 0 9223372036854775807 3")
	f.Fuzz(func(t *testing.T, line string) {
		d, err := statCPU(line)
		if err == nil && d < 0 {
			t.Fatalf("statCPU(%q) = %v", line, d)
		}
	})
}
