package ingest

import (
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// chainDevices is the layout of a simulated chain store (as bench's
// ChainStore): six lanes of receipt printer, scanner, payment terminal and
// POS PC, two label printers, three scales and the back office.
func chainDevices() []wire.DeviceInfo {
	var ds []wire.DeviceInfo
	for lane := 1; lane <= 6; lane++ {
		loc := fmt.Sprintf("lane %d", lane)
		ds = append(ds,
			wire.DeviceInfo{ID: fmt.Sprintf("receipt-%d", lane), Kind: "receipt_printer", Driver: "escpos", Location: loc},
			wire.DeviceInfo{ID: fmt.Sprintf("scanner-%d", lane), Kind: "scanner", Driver: "ssi", Location: loc},
			wire.DeviceInfo{ID: fmt.Sprintf("pinpad-%d", lane), Kind: "payment_terminal", Driver: "zvt", Location: loc},
			wire.DeviceInfo{ID: fmt.Sprintf("pos-%d", lane), Kind: "pos_pc", Driver: "netprobe", Location: loc})
	}
	return append(ds,
		wire.DeviceInfo{ID: "label-1", Kind: "label_printer", Driver: "zpl", Location: "deli"},
		wire.DeviceInfo{ID: "label-2", Kind: "label_printer", Driver: "zpl", Location: "bakery"},
		wire.DeviceInfo{ID: "scale-1", Kind: "scale", Driver: "sics", Location: "deli"},
		wire.DeviceInfo{ID: "scale-2", Kind: "scale", Driver: "nci", Location: "produce"},
		wire.DeviceInfo{ID: "scale-3", Kind: "scale", Driver: "toledo", Location: "bakery"},
		wire.DeviceInfo{ID: "backoffice", Kind: "pos_pc", Driver: "netprobe", Location: "office"})
}

// openingBurst encodes what one store's agent sends when a chain comes up:
// its birth, its inventory, a heartbeat and every device's first state
// (receipt printers with an identity, one device in five with a fault).
func openingBurst(tb testing.TB, store int) (topics []string, payloads [][]byte) {
	tb.Helper()
	id := wire.AgentID{Tenant: "chain", Store: fmt.Sprintf("s%05d", store), Agent: "backoffice"}
	now := time.Now().UTC()
	add := func(ch wire.Channel, m wire.Message) {
		raw, err := wire.Encode(m)
		if err != nil {
			tb.Fatal(err)
		}
		topics = append(topics, id.Topic(ch))
		payloads = append(payloads, raw)
	}
	head := func(seq uint64) wire.Header { return wire.Header{AgentID: id, Boot: "b1", Seq: seq, Time: now} }
	devices := chainDevices()
	add(wire.ChannelStatus, &wire.Status{Header: head(0), State: wire.PresenceOnline, Version: "1.0.0"})
	add(wire.ChannelInventory, &wire.Inventory{Header: head(0), AgentVersion: "1.0.0",
		StoreInfo: wire.StoreInfo{Name: "Store " + id.Store, TimeZone: "Europe/Berlin"}, Devices: devices})
	seq := uint64(1)
	add(wire.ChannelMetrics, &wire.Metrics{Header: head(seq), Heartbeat: &wire.Heartbeat{Uptime: 60, Reconnects: 1},
		Samples: []wire.Sample{{Device: "host", Name: "rtt_ms", Value: 12, Time: now}}})
	for i, d := range devices {
		seq++
		ev := &wire.Event{Header: head(seq), Device: d.ID, Kind: d.Kind, Previous: wire.StateUnknown, Since: now, Reason: "first reading"}
		if i%5 == 0 {
			ev.Faults = []wire.Fault{wire.NewFault(wire.FaultPaperOut, "")}
		}
		if d.Kind == "receipt_printer" {
			ev.Identity = &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: fmt.Sprintf("X%05d-%d", store, i), Firmware: "30.01"}
		}
		ev.State = wire.StateOf(ev.Faults)
		add(wire.ChannelEvents, ev)
	}
	return topics, payloads
}

var fleetHeapProfile = flag.String("fleet.heapprofile", "", "BenchmarkFleetMemory writes a heap profile of the loaded hub to this file")

// BenchmarkFleetMemory: the Go heap a hub needs per device once a chain's
// opening burst has gone through the real pipeline (strict decoding, the
// engine, bbolt commits), measured after a GC with runtime.ReadMemStats;
// -fleet.heapprofile says what it is made of.
// Each iteration loads a fresh hub; run it with -benchtime 1x. Figures are
// in docs/benchmarks.md.
func BenchmarkFleetMemory(b *testing.B) {
	for _, stores := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("stores=%d", stores), func(b *testing.B) {
			for range b.N {
				fleetMemory(b, stores)
			}
		})
	}
}

func fleetMemory(b *testing.B, stores int) {
	b.StopTimer()
	var topics []string
	var payloads [][]byte
	for s := range stores {
		t, p := openingBurst(b, s)
		topics, payloads = append(topics, t...), append(payloads, p...)
	}
	devices := stores * len(chainDevices())
	before := heapAfterGC()
	b.StartTimer()
	pl, _, stop := benchPipeline(b, incident.DefaultPolicy())
	defer stop()
	// Stores send concurrently, each in order, as the chain's agents do.
	const senders = 512
	var wg sync.WaitGroup
	per := len(topics) / stores
	for w := range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for s := w; s < stores; s += senders {
				for i := s * per; i < (s+1)*per; i++ {
					if err := pl.Handle(context.Background(), topics[i], payloads[i], ""); err != nil {
						b.Error(err)
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	if got := len(pl.eng.Devices()); got != devices {
		b.Fatalf("engine knows %d devices, want %d", got, devices)
	}
	after := heapAfterGC()
	runtime.KeepAlive(payloads)
	if *fleetHeapProfile != "" {
		writeHeapProfile(b, *fleetHeapProfile)
	}
	// live: the bytes of reachable objects; inuse: the heap's spans in use,
	// which also counts the free slots in partly used spans.
	live, inuse := int64(after.HeapAlloc-before.HeapAlloc), int64(after.HeapInuse-before.HeapInuse)
	b.ReportMetric(float64(live)/float64(devices), "live-B/device")
	b.ReportMetric(float64(inuse)/float64(devices), "inuse-B/device")
	b.ReportMetric(float64(inuse)/(1<<20), "inuse-MiB")
	b.ReportMetric(float64(len(topics))/b.Elapsed().Seconds(), "msgs/s")
	// How the commits went: their size and cost grow with the fleet.
	var m dto.Metric
	_ = pl.metrics.BatchSize.Write(&m)
	if n := m.GetHistogram().GetSampleCount(); n > 0 {
		b.ReportMetric(m.GetHistogram().GetSampleSum()/float64(n), "msgs/commit")
	}
	_ = pl.metrics.CommitSeconds.Write(&m)
	if n := m.GetHistogram().GetSampleCount(); n > 0 {
		b.ReportMetric(1000*m.GetHistogram().GetSampleSum()/float64(n), "ms/commit")
	}
	runtime.KeepAlive(pl)
}

// heapAfterGC reads the heap's figures after a full collection.
func heapAfterGC() runtime.MemStats {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms
}

func writeHeapProfile(tb testing.TB, path string) {
	f, err := os.Create(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		tb.Fatal(err)
	}
}
