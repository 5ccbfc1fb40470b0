package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

func openTest(t testing.TB, path string, mod ...func(*outboxOptions)) *outbox {
	t.Helper()
	o := outboxOptions{Path: path, MaxBytes: 8 << 20, MaxAge: time.Hour, Agent: testID, Boot: newBootID(), OpenTimeout: time.Second}
	for _, m := range mod {
		m(&o)
	}
	ob, err := openOutbox(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ob.close() })
	return ob
}

func rec(c Class, body string) *pendingRecord {
	typ := wire.TypeEvent
	if c == ClassTelemetry {
		typ = wire.TypeMetrics
	}
	return &pendingRecord{rec: record{class: c, typ: typ, time: time.Now().UnixNano(), body: []byte(body)}}
}

func readAll(t testing.TB, ob *outbox, c Class) []entry {
	t.Helper()
	es, err := ob.read(c, 0, ^uint64(0), 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	return es
}

// Sequence numbers continue across restarts with no reuse, and each record
// keeps the boot id of the start that made it.
func TestSequenceSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ctx := context.Background()
	var boots []string
	for range 3 {
		ob := openTest(t, path)
		boots = append(boots, ob.opt.Boot)
		for range 2 {
			if err := ob.append(ctx, rec(ClassEvent, `{"device":"d"}`), rec(ClassTelemetry, `{}`)); err != nil {
				t.Fatal(err)
			}
		}
		if err := ob.close(); err != nil {
			t.Fatal(err)
		}
	}
	ob := openTest(t, path)
	all := append(readAll(t, ob, ClassEvent), readAll(t, ob, ClassTelemetry)...)
	seen := map[uint64]bool{}
	var seqs []uint64
	for _, e := range all {
		if seen[e.seq] {
			t.Fatalf("seq %d reused", e.seq)
		}
		seen[e.seq] = true
		seqs = append(seqs, e.seq)
	}
	if len(seqs) != 12 || len(gaps(seqs)) != 0 {
		t.Fatalf("seqs %v (gaps %v)", seqs, gaps(seqs))
	}
	ev := readAll(t, ob, ClassEvent)
	for i, e := range ev {
		p, err := ob.payload(e)
		if err != nil {
			t.Fatal(err)
		}
		var m wire.Header
		if err := json.Unmarshal(p, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		if want := boots[i/2]; m.Boot != want || m.Seq != e.seq || m.AgentID != testID {
			t.Fatalf("record %d: boot %q seq %d, want boot %q seq %d", i, m.Boot, m.Seq, want, e.seq)
		}
	}
	if ob.stats().LastSeq != ev[len(ev)-1].seq+1 {
		t.Fatalf("last seq %d", ob.stats().LastSeq)
	}
}

// A full outbox gives up telemetry, oldest first, before any event; events
// go only when no telemetry is left. Every drop is counted by class, and
// the file never passes its cap.
func TestFullOutboxEvictsTelemetryFirst(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	const maxBytes = 512 << 10
	ob := openTest(t, path, func(o *outboxOptions) { o.MaxBytes = maxBytes })
	ctx := context.Background()
	body := `{"samples":[{"device":"host","name":"cpu","value":1,"time":"2026-11-22T09:00:00Z"}],"pad":"` + strings.Repeat("x", 300) + `"}`
	for range 20 {
		if err := ob.append(ctx, rec(ClassEvent, `{"device":"d","pad":"`+strings.Repeat("e", 300)+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	var firstTelemetry uint64
	for i := range 100 {
		var batch []*pendingRecord
		for range 30 {
			batch = append(batch, rec(ClassTelemetry, body))
		}
		if err := ob.append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
		if i == 0 {
			firstTelemetry = batch[0].seq
		}
	}
	st := ob.stats()
	if st.Events != 20 || st.Dropped["event"] != 0 {
		t.Fatalf("events were evicted while telemetry was left: %+v", st)
	}
	if st.Dropped["telemetry"] == 0 || st.Telemetry == 0 {
		t.Fatalf("no telemetry evicted: %+v", st)
	}
	if tel := readAll(t, ob, ClassTelemetry); tel[0].seq <= firstTelemetry || tel[len(tel)-1].seq != st.LastSeq {
		t.Fatalf("telemetry kept %d..%d: not the newest", tel[0].seq, tel[len(tel)-1].seq)
	}
	if int(st.Dropped["telemetry"])+st.Telemetry != 3000 {
		t.Fatalf("dropped %d + kept %d telemetry != 3000 appended", st.Dropped["telemetry"], st.Telemetry)
	}
	// Only events now: telemetry goes entirely before the first event.
	for range 100 {
		var batch []*pendingRecord
		for range 30 {
			batch = append(batch, rec(ClassEvent, `{"device":"d","pad":"`+strings.Repeat("e", 300)+`"}`))
		}
		if err := ob.append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	st = ob.stats()
	if st.Telemetry != 0 || st.Dropped["event"] == 0 {
		t.Fatalf("after events only: %+v", st)
	}
	if int(st.Dropped["event"])+st.Events != 3020 {
		t.Fatalf("dropped %d + kept %d events != 3020 appended", st.Dropped["event"], st.Events)
	}
	if fi, _ := os.Stat(path); fi.Size() > maxBytes {
		t.Fatalf("file is %d bytes, cap %d", fi.Size(), maxBytes)
	}
	// The counters are on disk: a restart still reports them.
	ob.close()
	rep, err := InspectOutbox(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Dropped["event"] != st.Dropped["event"] || rep.Dropped["telemetry"] != st.Dropped["telemetry"] {
		t.Fatalf("report %+v, stats %+v", rep.Dropped, st.Dropped)
	}
}

// Records older than MaxAge are dropped and counted.
func TestAgeBound(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	ob := openTest(t, filepath.Join(t.TempDir(), "outbox.db"), func(o *outboxOptions) { o.Now = clock; o.MaxAge = time.Hour })
	ctx := context.Background()
	old := rec(ClassTelemetry, `{}`)
	old.rec.time = now.Add(-2 * time.Hour).UnixNano()
	oldEv := rec(ClassEvent, `{}`)
	oldEv.rec.time = now.Add(-90 * time.Minute).UnixNano()
	if err := ob.append(ctx, old, oldEv, rec(ClassEvent, `{}`)); err != nil {
		t.Fatal(err)
	}
	// The next commit applies the age bound.
	if err := ob.append(ctx, rec(ClassTelemetry, `{}`)); err != nil {
		t.Fatal(err)
	}
	st := ob.stats()
	if st.Events != 1 || st.Telemetry != 1 || st.Dropped["event"] != 1 || st.Dropped["telemetry"] != 1 {
		t.Fatalf("%+v", st)
	}
}

// A corrupt file is moved aside with a timestamped name; a new one is made,
// and the incident is reported. Monitoring does not stop.
func TestCorruptFileIsMovedAside(t *testing.T) {
	for name, damage := range map[string]func(t *testing.T, path string){
		"garbage": func(t *testing.T, path string) {
			os.WriteFile(path, bytes.Repeat([]byte("not a bbolt file "), 1000), 0o600)
		},
		"truncated": func(t *testing.T, path string) {
			b := filledFile(t, path)
			os.WriteFile(path, b[:len(b)/3], 0o600)
		},
		"scribbled pages": func(t *testing.T, path string) {
			b := filledFile(t, path)
			for i := 4096 * 2; i < len(b); i += 97 {
				b[i] ^= 0x5a
			}
			os.WriteFile(path, b, 0o600)
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "outbox.db")
			damage(t, path)
			ob := openTest(t, path)
			st := ob.stats()
			if len(st.Incidents) == 0 || !strings.Contains(st.Incidents[len(st.Incidents)-1], "moved aside") {
				t.Fatalf("no incident: %+v", st)
			}
			aside, _ := filepath.Glob(path + ".corrupt-*")
			if len(aside) != 1 {
				t.Fatalf("moved-aside files: %v", aside)
			}
			if err := ob.append(context.Background(), rec(ClassEvent, `{}`)); err != nil {
				t.Fatalf("new outbox unusable: %v", err)
			}
		})
	}
}

// filledFile writes an outbox with some events and returns its bytes.
func filledFile(t *testing.T, path string) []byte {
	ob := openTest(t, path)
	for range 200 {
		ob.append(context.Background(), rec(ClassEvent, `{"device":"`+strings.Repeat("d", 200)+`"}`))
	}
	ob.close()
	b, _ := os.ReadFile(path)
	return b
}

// A large, mostly empty file is compacted when opened, and nothing waiting
// is lost.
func TestCompactsMostlyEmptyFileAtOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	ob := openTest(t, path, func(o *outboxOptions) { o.MaxBatch = 500 })
	ctx := context.Background()
	for range 40 {
		var batch []*pendingRecord
		for range 500 {
			batch = append(batch, rec(ClassTelemetry, `{"pad":"`+strings.Repeat("x", 300)+`"}`))
		}
		if err := ob.append(ctx, batch...); err != nil {
			t.Fatal(err)
		}
	}
	if err := ob.append(ctx, rec(ClassEvent, `{"keep":"me"}`)); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	for _, e := range readAll(t, ob, ClassTelemetry) {
		acks = append(acks, ack{ClassTelemetry, e.seq})
	}
	if err := ob.ack(ctx, acks, true); err != nil {
		t.Fatal(err)
	}
	last := ob.stats().LastSeq
	ob.close()
	before, _ := os.Stat(path)
	ob = openTest(t, path)
	after, _ := os.Stat(path)
	if after.Size()*4 > before.Size() {
		t.Fatalf("file %d bytes before, %d after", before.Size(), after.Size())
	}
	if ev := readAll(t, ob, ClassEvent); len(ev) != 1 || !bytes.Contains(ev[0].rec.body, []byte("me")) {
		t.Fatalf("events after compaction: %v", ev)
	}
	if ob.stats().LastSeq != last {
		t.Fatalf("seq %d after compaction, was %d", ob.stats().LastSeq, last)
	}
}

// Acknowledging a whole batch in one transaction deletes every record: the
// bbolt v1.5.0 cursor-delete skip must not leave half of them behind.
func TestAckDeletesEveryRecordInOneTransaction(t *testing.T) {
	ob := openTest(t, filepath.Join(t.TempDir(), "outbox.db"))
	ctx := context.Background()
	var batch []*pendingRecord
	for range 1000 {
		batch = append(batch, rec(ClassEvent, `{}`))
	}
	if err := ob.append(ctx, batch...); err != nil {
		t.Fatal(err)
	}
	var acks []ack
	for _, e := range readAll(t, ob, ClassEvent) {
		acks = append(acks, ack{ClassEvent, e.seq})
	}
	if err := ob.ack(ctx, acks, true); err != nil {
		t.Fatal(err)
	}
	if n := len(readAll(t, ob, ClassEvent)); n != 0 || ob.stats().Events != 0 {
		t.Fatalf("%d records left, stats %+v", n, ob.stats())
	}
}

// While the agent holds the file, the support tools say so instead of
// hanging; once it is closed they report and export it.
func TestInspectAndExport(t *testing.T) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	u := mustNew(t, Options{ID: testID, Outbox: configOutbox(path), Logger: testLogger(t), CommitInterval: time.Millisecond})
	ctx := context.Background()
	for i := range 3 {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := u.Samples(ctx, []wire.Sample{{Device: "host", Name: "cpu", Value: 3, Time: t0}}); err != nil {
		t.Fatal(err)
	}
	if _, err := InspectOutbox(path, 100*time.Millisecond); !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "storeagent running") {
		t.Fatalf("inspect while in use: %v", err)
	}
	u.Close()
	rep, err := InspectOutbox(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Events != 3 || rep.Telemetry != 1 || rep.Agent != testID || rep.Oldest.IsZero() || rep.LastSeq == 0 {
		t.Fatalf("%+v", rep)
	}
	var out bytes.Buffer
	n, err := ExportOutbox(path, &out, time.Second)
	if err != nil || n != 4 {
		t.Fatalf("export: %d, %v", n, err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	var prev uint64
	for i, l := range lines {
		var el ExportLine
		if err := json.Unmarshal([]byte(l), &el); err != nil {
			t.Fatal(err)
		}
		_, ch, err := wire.ParseTopic(el.Topic)
		if err != nil {
			t.Fatal(err)
		}
		m, err := wire.DecodeChannel(ch, el.Payload)
		if err != nil {
			t.Fatalf("line %d: %v: %s", i, err, el.Payload)
		}
		if m.Head().Seq != el.Seq || el.Seq <= prev {
			t.Fatalf("line %d: seq %d after %d", i, el.Seq, prev)
		}
		prev = el.Seq
	}
}

// A full outbox collapses telemetry to the latest value of each measurement
// and the latest heartbeat before it evicts anything oldest first: a value
// measured once, long ago, is still there; every measurement keeps its
// latest value; events are untouched. Records emptied by collapsing count
// as dropped telemetry, the accounting matches the file, and every record
// left is still a valid message. A small file and a larger one.
func TestFullOutboxCollapsesTelemetry(t *testing.T) {
	for name, maxBytes := range map[string]int{"4MiB": 4 << 20, "128KiB": 128 << 10} {
		t.Run(name, func(t *testing.T) { testCollapse(t, maxBytes) })
	}
}

func testCollapse(t *testing.T, maxBytes int) {
	path := filepath.Join(t.TempDir(), "outbox.db")
	o := Options{ID: testID, Outbox: config.Outbox{Path: path, MaxBytes: config.ByteSize(maxBytes), MaxAge: time.Hour}, Logger: testLogger(t), CommitInterval: time.Millisecond}
	u := mustNew(t, o)
	ctx := context.Background()
	for i := range 10 {
		if err := u.Event(ctx, testEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	at := t0.Add(-time.Hour)
	if err := u.Samples(ctx, []wire.Sample{{Device: "scale-1", Name: "calibrated", Value: 1, Time: at}}); err != nil {
		t.Fatal(err)
	}
	// Three budgets' worth of samples of ten measurements (a record is
	// about 500 bytes), and a heartbeat every 50 records.
	// They are appended in groups, as many collectors would, small enough
	// for the small file to take one.
	rounds := 3 * maxBytes / 2 / 500
	groupSize := min(100, rounds/20)
	heartbeats := 0
	var group []*pendingRecord
	for i := range rounds {
		m := wire.Metrics{}
		for j := range 10 {
			m.Samples = append(m.Samples, wire.Sample{Device: "host", Name: fmt.Sprintf("disk_free_percent:/mnt/%d", j), Value: float64(i), Time: at.Add(time.Duration(i) * time.Second)})
		}
		if i%50 == 0 {
			m.Heartbeat = u.heartbeat()
			heartbeats++
		}
		p, err := u.prepare(&m, &m.Header, ClassTelemetry)
		if err != nil {
			t.Fatal(err)
		}
		if group = append(group, p); len(group) == groupSize || i == rounds-1 {
			if err := u.ob.append(ctx, group...); err != nil {
				t.Fatal(err)
			}
			group = nil
		}
	}
	st := u.Stats().Outbox
	if st.Events != 10 || st.Dropped["event"] != 0 {
		t.Fatalf("events touched: %+v", st)
	}
	if appended := 1 + rounds; st.Dropped["telemetry"] == 0 || int(st.Dropped["telemetry"])+st.Telemetry != appended {
		t.Fatalf("dropped %d + kept %d telemetry records != %d appended", st.Dropped["telemetry"], st.Telemetry, appended)
	}
	latest := map[string]float64{}
	hbs := 0
	for _, e := range readAll(t, u.ob, ClassTelemetry) {
		m, err := wire.Decode[wire.Metrics](mustPayload(t, u.ob, e))
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range m.Samples {
			latest[s.Device+"/"+s.Name] = s.Value
		}
		if m.Heartbeat != nil {
			hbs++
		}
	}
	if latest["scale-1/calibrated"] != 1 {
		t.Fatalf("the value measured once, first, was not kept: %v", latest)
	}
	for j := range 10 {
		if v, ok := latest[fmt.Sprintf("host/disk_free_percent:/mnt/%d", j)]; !ok || int(v) != rounds-1 {
			t.Fatalf("mnt/%d: latest value %v (kept %v), want %d", j, v, ok, rounds-1)
		}
	}
	if hbs == 0 || hbs >= heartbeats {
		t.Fatalf("%d heartbeats kept of %d: not collapsed to the latest", hbs, heartbeats)
	}
	if fi, _ := os.Stat(path); fi.Size() > int64(maxBytes) {
		t.Fatalf("file is %d bytes, cap %d", fi.Size(), maxBytes)
	}
	u.Close()
	rep, err := InspectOutbox(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Bytes != st.Bytes || rep.CollapsedSamples != st.CollapsedSamples || rep.CollapsedSamples == 0 {
		t.Fatalf("file holds %d bytes of records, %d collapsed samples; the outbox counted %d and %d", rep.Bytes, rep.CollapsedSamples, st.Bytes, st.CollapsedSamples)
	}
	var out bytes.Buffer
	if _, err := ExportOutbox(path, &out, time.Second); err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		var el ExportLine
		if err := json.Unmarshal([]byte(l), &el); err != nil || el.Class == "unreadable" {
			t.Fatalf("export line %s: %v", l, err)
		}
	}
}

func mustPayload(t testing.TB, ob *outbox, e entry) []byte {
	t.Helper()
	p, err := ob.payload(e)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
