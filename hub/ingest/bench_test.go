package ingest

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// Benchmarks measure; nothing here asserts a timing. Figures and the
// commands are in docs/benchmarks.md.

func benchPipeline(b *testing.B, pol incident.Policy) (*Pipeline, *store.Bolt, func()) {
	b.Helper()
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	p := New(Options{Engine: incident.New(incident.Config{Policy: pol}), Store: st})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { p.Run(ctx); close(done) }()
	return p, st, func() { cancel(); <-done; st.Close() }
}

// fleet pre-encodes events of many agents: each device alternates between
// paper_out and ok, so the engine opens, holds and clears alerts.
func fleet(b *testing.B, agents, devices, perDevice int) (topics []string, payloads [][]byte) {
	now := time.Now().UTC()
	for a := range agents {
		id := wire.AgentID{Tenant: "acme", Store: fmt.Sprintf("s%04d", a), Agent: "backoffice"}
		seq := uint64(0)
		for n := range perDevice {
			for d := range devices {
				seq++
				ev := &wire.Event{Header: wire.Header{AgentID: id, Boot: "b1", Seq: seq, Time: now}, Device: fmt.Sprintf("printer-%d", d), Since: now}
				if n%2 == 0 {
					ev.Faults = []wire.Fault{wire.NewFault(wire.FaultPaperOut, "DLE EOT 4 = 0x72")}
				}
				ev.State = wire.StateOf(ev.Faults)
				ev.Identity = &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: fmt.Sprintf("X%d-%d", a, d)}
				raw, err := wire.Encode(ev)
				if err != nil {
					b.Fatal(err)
				}
				topics = append(topics, id.Topic(wire.ChannelEvents))
				payloads = append(payloads, raw)
			}
		}
	}
	return topics, payloads
}

// BenchmarkIngest: events per second through strict decoding, identity
// check, dedup, the engine and a durable bbolt commit, from many concurrent
// connections (group commit).
//
// fleet: 5,000 stores with 10 devices, each reporting fault, ok, fault, ok
// (a large fleet, every event a real state change). flapping: 500 stores
// with 8 devices toggling 50 times, so they go flapping and every event
// also updates a live incident: the engine's worst case.
func BenchmarkIngest(b *testing.B) {
	for _, c := range []struct {
		name                       string
		agents, devices, perDevice int
	}{{"fleet", 5000, 10, 4}, {"flapping", 500, 8, 50}} {
		b.Run(c.name, func(b *testing.B) { ingest(b, c.agents, c.devices, c.perDevice) })
	}
}

func ingest(b *testing.B, agents, devices, perDevice int) {
	p, _, stop := benchPipeline(b, incident.DefaultPolicy())
	defer stop()
	topics, payloads := fleet(b, agents, devices, perDevice) // 200,000 distinct events
	var next atomic.Int64
	b.SetParallelism(1024)
	b.ResetTimer()
	start, cpu0 := time.Now(), testenv.CPUTime()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := int(next.Add(1)-1) % len(payloads)
			if err := p.Handle(context.Background(), topics[i], payloads[i], ""); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
	// The CPU cost per event tells the capacity of two dedicated cores even
	// when other work shares the machine.
	if perEvent := (testenv.CPUTime() - cpu0) / time.Duration(b.N); perEvent > 0 {
		b.ReportMetric(float64(perEvent.Nanoseconds())/1000, "cpu-µs/event")
		b.ReportMetric(2*float64(time.Second)/float64(perEvent), "events/s-per-2-cores")
	}
	var m dto.Metric
	_ = p.metrics.BatchSize.Write(&m)
	if n := m.GetHistogram().GetSampleCount(); n > 0 {
		b.ReportMetric(m.GetHistogram().GetSampleSum()/float64(n), "events/commit")
	}
}

// BenchmarkEventToTicket: how long after its hold-down a ticket is committed,
// while the hub ingests a steady background load. Each iteration reports a
// fault with a 100 ms hold-down on a fresh device and waits for the opened
// notification; the latency is from the end of the hold-down (when the ticket
// is due) to the commit that made it visible, and separately from receipt of
// an event with no hold-down.
func BenchmarkEventToTicket(b *testing.B) {
	for _, load := range []int{4000, 20000} {
		b.Run(fmt.Sprintf("background=%d/s", load), func(b *testing.B) { eventToTicket(b, load) })
	}
}

func eventToTicket(b *testing.B, load int) {
	pol := incident.DefaultPolicy()
	hold := 100 * time.Millisecond
	pol.Rules = map[string]incident.Rule{
		string(wire.FaultPaperJam):   {HoldDown: hold, HoldUp: time.Minute, OnRecovery: incident.RecoveryClose},
		string(wire.FaultPTHardware): {HoldDown: 0, HoldUp: time.Minute, OnRecovery: incident.RecoveryComment},
	}
	p, st, stop := benchPipeline(b, pol)
	defer stop()

	// Background load from other stores: senders each publishing every
	// millisecond. Payloads repeat after a while; repeats are duplicates,
	// which cost the same checks.
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	bgTopics, bgPayloads := fleet(b, 500, 4, 20)
	senders := load / 1000
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(time.Millisecond)
			defer tick.Stop()
			for i := w; ctx.Err() == nil; i += senders {
				<-tick.C
				_ = p.Handle(ctx, bgTopics[i%len(bgTopics)], bgPayloads[i%len(bgPayloads)], "")
			}
		}()
	}
	defer func() { cancel(); wg.Wait() }()

	id := wire.AgentID{Tenant: "bench", Store: "latency", Agent: "a1"}
	var afterHold, fromReceipt []time.Duration
	var seq uint64
	waitOpened := func(dev string, after uint64) (time.Time, uint64) {
		for {
			ch := st.Notified()
			ns, err := st.Notifications(after, 0)
			if err != nil {
				b.Fatal(err)
			}
			for _, n := range ns {
				after = n.Seq
				if n.Kind == incident.NotifyOpened && n.Incident.Device == dev {
					return time.Now(), after
				}
			}
			<-ch
		}
	}
	var cursor uint64
	b.ResetTimer()
	for i := range b.N {
		for _, code := range []wire.FaultCode{wire.FaultPaperJam, wire.FaultPTHardware} {
			seq++
			dev := fmt.Sprintf("dev-%d-%s", i, code)
			now := time.Now().UTC()
			ev := &wire.Event{Header: wire.Header{AgentID: id, Boot: "b1", Seq: seq, Time: now}, Device: dev, Since: now,
				Faults: []wire.Fault{wire.NewFault(code, "")}}
			ev.State = wire.StateOf(ev.Faults)
			raw, _ := wire.Encode(ev)
			received := time.Now()
			if err := p.Handle(context.Background(), id.Topic(wire.ChannelEvents), raw, ""); err != nil {
				b.Fatal(err)
			}
			var seen time.Time
			seen, cursor = waitOpened(dev, cursor)
			if code == wire.FaultPaperJam {
				afterHold = append(afterHold, seen.Sub(now.Add(hold)))
			} else {
				fromReceipt = append(fromReceipt, seen.Sub(received))
			}
		}
	}
	b.StopTimer()
	report := func(name string, ds []time.Duration) {
		slices.Sort(ds)
		q := func(f float64) float64 { return float64(ds[int(f*float64(len(ds)-1))].Microseconds()) / 1000 }
		b.ReportMetric(q(0.5), name+"-p50-ms")
		b.ReportMetric(q(0.99), name+"-p99-ms")
	}
	report("holddown", afterHold)
	report("receipt", fromReceipt)
}
