package ingest

import (
	"context"
	"runtime"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/broker/brokertest"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// BenchmarkExternal: the hub's CPU per event end to end through a real
// Mosquitto, as storehub runs with an external broker: the broker's
// delivery to the hub's persistent session, paho, the session's hand-over
// to the pipeline, decoding, the engine, a durable bbolt commit and the
// acknowledgement after it. The events are queued on the broker while the
// hub's session is away, then the session comes back and drains them, so
// the process's CPU in that window is the hub's alone (the broker is
// another process). Mosquitto is tuned as in the benchmark suite
// (max_inflight_messages 1000).
func BenchmarkExternal(b *testing.B) {
	m := testenv.StartMosquitto(b, testenv.MosquittoOptions{Config: []string{
		"log_type error", "max_inflight_messages 1000", "max_queued_messages 10000000"}})
	p, _, stop := benchPipeline(b, incident.DefaultPolicy())
	defer stop()
	conf := broker.ExternalConfig{URLs: []string{m.URL}, ClientID: "hub-bench"}
	committed := func() uint64 {
		var d dto.Metric
		_ = p.metrics.BatchSize.Write(&d)
		return uint64(d.GetHistogram().GetSampleSum())
	}
	topics, payloads := fleet(b, (b.N+1)/40+1, 10, 4) // distinct events, fault and ok in turn
	agent, err := brokertest.Dial(b, m.URL, brokertest.Options{User: "agent"})
	if err != nil {
		b.Fatal(err)
	}
	publish := func(from, n int) {
		for i := from; i < from+n; {
			var toks []interface{ Wait() bool }
			for ; i < from+n && len(toks) < 1000; i++ {
				k := i % len(payloads)
				toks = append(toks, agent.Publish(topics[k], 1, false, payloads[k]))
			}
			for _, t := range toks {
				t.Wait()
			}
		}
	}
	waitFor := func(want uint64) {
		deadline := time.Now().Add(5 * time.Minute)
		for committed() < want {
			if time.Now().After(deadline) {
				b.Fatalf("committed %d of %d events", committed(), want)
			}
			time.Sleep(time.Millisecond)
		}
	}

	// A first session subscribes (persistent, so the broker then queues
	// for it) and takes one event, to know the subscription is in place.
	ctx, cancel := context.WithCancel(context.Background())
	x, err := broker.StartExternal(ctx, conf, p, nil)
	if err != nil {
		b.Fatal(err)
	}
	for committed() == 0 {
		publish(0, 1)
		time.Sleep(50 * time.Millisecond)
	}
	waitFor(committed())
	x.Close()
	cancel()
	base := committed()
	publish(1, b.N)
	agent.Disconnect(100)
	runtime.GC()

	b.ResetTimer()
	start, cpu0 := time.Now(), testenv.CPUTime()
	ctx, cancel = context.WithCancel(context.Background())
	defer cancel()
	if x, err = broker.StartExternal(ctx, conf, p, nil); err != nil {
		b.Fatal(err)
	}
	waitFor(base + uint64(b.N))
	wall := time.Since(start)
	x.Close() // the last acknowledgements go out
	cpu := testenv.CPUTime() - cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/wall.Seconds(), "events/s")
	b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(b.N), "cpu-µs/event")
	var d dto.Metric
	_ = p.metrics.BatchSize.Write(&d)
	if n := d.GetHistogram().GetSampleCount(); n > 0 {
		b.ReportMetric(d.GetHistogram().GetSampleSum()/float64(n), "events/commit")
	}
}
