package query_test

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// benchPrinters spreads the queries over printers: the agent answers at
// most 12 queries per device and minute (agent.QueriesPerMinute), so 32
// printers allow 384 queries in the minute a run takes.
const benchPrinters = 32

// BenchmarkQueryRoundTrip measures a remote status query end to end on
// loopback: HTTP API, signing, the broker (embedded, or a real Mosquitto
// with the hub in external mode), the real storeagent, an emulated ESC/POS
// printer over TCP (DLE EOT status), and back. It reports the median and
// the 99th percentile of the round trips.
//
//	go test -run '^$' -bench QueryRoundTrip -benchtime 300x ./hub/query
func BenchmarkQueryRoundTrip(b *testing.B) {
	b.Run("embedded", func(b *testing.B) { benchRoundTrip(b, true) })
	b.Run("mosquitto", func(b *testing.B) { benchRoundTrip(b, false) })
}

func benchRoundTrip(b *testing.B, embedded bool) {
	s, _ := startSite(b, siteOptions{Embedded: embedded, Printers: benchPrinters, PerMinute: 600})
	if b.N > benchPrinters*12 {
		b.Fatalf("b.N = %d is more than the agents' rate limit allows in a minute; use -benchtime %dx or less", b.N, benchPrinters*12)
	}
	took := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		device := fmt.Sprintf("receipt-%d", i%benchPrinters+1)
		start := time.Now()
		code, a := s.askDevice(device, wire.OpStatus)
		took = append(took, time.Since(start))
		if code != 200 || !a.OK {
			b.Fatalf("query %d of %s: HTTP %d %+v", i, device, code, a)
		}
	}
	b.StopTimer()
	slices.Sort(took)
	pct := func(p float64) float64 {
		return float64(took[min(len(took)-1, int(float64(len(took))*p))].Microseconds()) / 1000
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
	b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
}
