package uplink

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// BenchmarkOutboxAppend measures appending events with grouped commits:
// the caller's side (validation and encoding, as Event does) and the writer
// (one transaction and fsync per group). Appends are submitted without
// waiting, as many collector goroutines would; all are committed before the
// clock stops. It reports events/s, the process's CPU time per event
// (caller, writer and garbage collector together: on a busy machine the
// rate falls with the load average, the CPU per event much less), and
// bytes of outbox file per event.
func BenchmarkOutboxAppend(b *testing.B) {
	o := testOptions(b)
	o.Outbox.MaxBytes = 1 << 30
	o.Outbox.MaxAge = 24 * time.Hour
	o.CommitInterval = 250 * time.Millisecond
	u := mustNew(b, o)
	ev := testEvent(0)
	ev.Time = time.Now()
	ctx := context.Background()
	const group = 100
	var dones []chan error
	b.ResetTimer()
	start, cpu0 := time.Now(), testenv.CPUTime()
	var batch []*pendingRecord
	for i := 0; i < b.N; i++ {
		e := ev
		p, err := u.prepare(&e, &e.Header, ClassEvent)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, p)
		if len(batch) == group || i == b.N-1 {
			op := &writeOp{appends: batch, done: make(chan error, 1)}
			if err := u.ob.enqueue(ctx, op); err != nil {
				b.Fatal(err)
			}
			dones = append(dones, op.done)
			batch = nil
		}
	}
	// The last group would wait out the commit interval (up to 250ms, a
	// latency, not a rate); flush commits it at once, as Close would.
	if err := u.ob.flush(ctx); err != nil {
		b.Fatal(err)
	}
	for _, d := range dones {
		if err := <-d; err != nil {
			b.Fatal(err)
		}
	}
	el, cpu := time.Since(start), testenv.CPUTime()-cpu0
	b.StopTimer()
	fi, err := os.Stat(o.Outbox.Path)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N)/el.Seconds(), "events/s")
	if cpu > 0 {
		b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/event")
	}
	b.ReportMetric(float64(fi.Size())/float64(b.N), "file-B/event")
	b.ReportMetric(float64(u.Stats().Outbox.Bytes)/float64(b.N), "live-B/event")
}

// BenchmarkDrainMosquitto drains a backlog of b.N events to a real
// mosquitto at QoS 1 (backlog rate limit off), and in the same run
// publishes the same payloads with `mosquitto_pub -q 1 -l` for comparison.
// It reports both rates and their ratio.
func BenchmarkDrainMosquitto(b *testing.B) {
	pub := testenv.LookPath(b, "mosquitto_pub")
	m := testenv.StartMosquitto(b, testenv.MosquittoOptions{})
	// keep_sent 0 drops an event at its PUBACK; the default keeps the
	// newest 2,000 for the hub's resend requests (one more put and a trim
	// per acknowledged batch): cpu-µs/msg says what keeping costs.
	for _, keep := range []int{0, config.DefaultKeepSent} {
		b.Run(fmt.Sprintf("keep_sent=%d", keep), func(b *testing.B) { drainMosquitto(b, pub, m.URL, keep) })
	}
}

func drainMosquitto(b *testing.B, pub, url string, keepSent int) {
	o := testOptions(b, url)
	o.Outbox.MaxBytes, o.Outbox.MaxAge, o.Outbox.KeepSent = 1<<30, 24*time.Hour, keepSent
	o.BacklogRate, o.BacklogBatch, o.LiveBatch = -1, 500, 500
	u := mustNew(b, o)
	ctx := context.Background()
	var batch []*pendingRecord
	for i := 0; i < b.N; i++ {
		e := testEvent(i)
		e.Time = time.Now()
		p, err := u.prepare(&e, &e.Header, ClassEvent)
		if err != nil {
			b.Fatal(err)
		}
		batch = append(batch, p)
		if len(batch) == 1000 || i == b.N-1 {
			if err := u.ob.append(ctx, batch...); err != nil {
				b.Fatal(err)
			}
			batch = nil
		}
	}
	// The same payloads, one per line, for mosquitto_pub.
	var lines strings.Builder
	for _, c := range []Class{ClassEvent} {
		es, err := u.ob.read(c, 0, ^uint64(0), b.N+1)
		if err != nil {
			b.Fatal(err)
		}
		for _, e := range es {
			p, _ := u.ob.payload(e)
			lines.Write(p)
			lines.WriteByte('\n')
		}
	}
	file := filepath.Join(b.TempDir(), "payloads")
	if err := os.WriteFile(file, []byte(lines.String()), 0o644); err != nil {
		b.Fatal(err)
	}

	b.ResetTimer()
	start, cpu := time.Now(), testenv.CPUTime()
	run(b, u)
	for u.Stats().Outbox.Events > 0 {
		time.Sleep(time.Millisecond)
	}
	ours, cpu := time.Since(start), testenv.CPUTime()-cpu
	b.StopTimer()

	port := strings.TrimPrefix(url, "tcp://127.0.0.1:")
	cmd := exec.Command(pub, "-h", "127.0.0.1", "-p", port, "-q", "1", "-t", testID.Topic(wire.ChannelEvents), "-l")
	f, _ := os.Open(file)
	defer f.Close()
	cmd.Stdin = f
	start = time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("mosquitto_pub: %v: %s", err, out)
	}
	theirs := time.Since(start)
	b.ReportMetric(float64(b.N)/ours.Seconds(), "uplink-msg/s")
	b.ReportMetric(float64(b.N)/theirs.Seconds(), "mosquitto_pub-msg/s")
	b.ReportMetric(theirs.Seconds()/ours.Seconds(), "ratio")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/msg")
}
