package uplink

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// packSeeds are bodies as wire.Encode writes them, and some it never
// writes, for the packing fuzz tests.
func packSeeds(t testing.TB) [][]byte {
	ev := testEvent(3)
	ev.Identity = &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X4\"Z", Extra: map[string]string{"fw": "<1.0>"}}
	ev.Measurements = map[string]float64{"rtt_ms": 1.25, "weight_kg": -0.5}
	ev.Faults = append(ev.Faults, wire.NewFault(wire.FaultCoverOpen, "lid \\ open \u2028"))
	ev.Since = time.Date(2026, 1, 2, 3, 4, 5, 120000000, time.UTC)
	m := wire.Metrics{
		Samples: []wire.Sample{
			{Device: "host", Name: "rtt_ms", Value: 3.5, Time: t0},
			{Device: "scale-1", Name: "weight_kg", Value: 1e-9, Time: t0.Add(time.Nanosecond)},
			{Device: "host", Name: "disk_free_percent:/", Value: 42, Time: time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))},
		},
		Heartbeat: &wire.Heartbeat{Uptime: 12.5, OutboxDepth: 3, Dropped: map[string]uint64{"telemetry": 2}, Goroutines: 9, RSSBytes: 1 << 24},
	}
	var out [][]byte
	for _, msg := range []wire.Message{&ev, &m} {
		*msg.Head() = wire.Header{AgentID: testID, Boot: "b", Seq: 1, Time: t0}
		full, err := wire.Encode(msg)
		if err != nil {
			t.Fatal(err)
		}
		body, err := splitBody(full, msg.Head())
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, body)
	}
	return append(out,
		[]byte(`{}`),
		[]byte(`{"a":"2026-11-22T09:00:00.100Z","b":"2026-11-22T09:00:00+01:00","c":"2026-02-30T09:00:00Z","d":"0001-01-01T00:00:00Z"}`),
		[]byte(`{"device":"x\"","kind":"\\"}`),
		[]byte("{\"a\":\"\x01\"}"),
		[]byte(`{"unterminated`),
		[]byte(`"device":"device":`),
	)
}

// Packing is lossless: whatever it accepts unpacks to the same bytes, and
// any bytes either unpack or give an error, never a panic.
func FuzzPackedBody(f *testing.F) {
	for _, s := range packSeeds(f) {
		f.Add(s, t0.UnixNano())
	}
	f.Fuzz(func(t *testing.T, body []byte, base int64) {
		packed, ok := appendPacked(nil, body, base)
		if ok {
			got, err := appendUnpacked(nil, packed, base)
			if err != nil {
				t.Fatalf("%q packed to %q, which does not unpack: %v", body, packed, err)
			}
			if !bytes.Equal(got, body) {
				t.Fatalf("%q packed to %q, unpacked to %q", body, packed, got)
			}
		}
		_, _ = appendUnpacked(nil, body, base) // any bytes: an error at worst
	})
}

// The header template writes exactly what encoding/json writes for the
// header, and cutting the body off a message with it gives what
// splitBody gives.
func FuzzHeaderTemplate(f *testing.F) {
	f.Add("20261122T153927Z-0123456789abcdef", uint64(1), t0.UnixNano(), true)
	f.Add("", uint64(1<<63), int64(-1), false)
	f.Add("<&>\u2028\"\\", uint64(17), int64(1), true)
	f.Fuzz(func(t *testing.T, boot string, seq uint64, nanos int64, event bool) {
		typ := wire.TypeMetrics
		if event {
			typ = wire.TypeEvent
		}
		tmpl := newHeaderTemplate(typ, testID, boot)
		if tmpl == nil {
			t.Fatal("no template")
		}
		tm := time.Unix(0, nanos).UTC()
		h := wire.Header{V: wire.Version, Type: typ, AgentID: testID, Boot: boot, Seq: seq, Time: tm}
		want, err := json.Marshal(&h)
		if err != nil {
			t.Fatal(err)
		}
		if seq != 0 {
			if got := append(tmpl.appendHeader(nil, seq, tm), '}'); !bytes.Equal(got, want) {
				t.Fatalf("template wrote\n%s\nencoding/json\n%s", got, want)
			}
		}
		if !event || boot == "" {
			return
		}
		ev := testEvent(1)
		ev.Header = wire.Header{AgentID: testID, Boot: boot, Seq: 1, Time: tm}
		full, err := wire.Encode(&ev)
		if err != nil {
			return // a time wire refuses
		}
		want, err = splitBody(full, &ev.Header)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := tmpl.cutBody(full)
		if !ok || !bytes.Equal(got, want) {
			t.Fatalf("cutBody %q (%v), splitBody %q", got, ok, want)
		}
	})
}

// packDict is part of the file format: records on disk name its entries by
// position. testdata/packdict.txt is the dictionary as released; the code
// may only add entries after it.
func TestPackDictOnlyGrows(t *testing.T) {
	f, err := os.Open("testdata/packdict.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var released []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		released = append(released, sc.Text())
	}
	if len(released) == 0 || len(packDict) < len(released) || !slices.Equal(packDict[:len(released)], released) {
		t.Fatalf("packDict changed an entry that records on disk refer to; only append to it\nreleased: %q\nnow:      %q", released, packDict)
	}
	if len(packDict) > len(released) {
		t.Logf("packDict has %d new entries; append them to testdata/packdict.txt when they are released", len(packDict)-len(released))
	}
}

// The vocabulary that fills most messages packs to a token or two. (A
// missing entry costs only bytes on disk, never correctness: this keeps
// the dictionary in step with wire and config.)
func TestPackDictCoversTheVocabulary(t *testing.T) {
	has := map[string]bool{}
	for _, s := range packDict {
		has[s] = true
	}
	var want []string
	for _, fi := range wire.Vocabulary() {
		if fi.Code != wire.FaultAgentOffline { // raised by the hub, never stored by an agent
			want = append(want, string(fi.Code), fi.Severity.String(), string(fi.Remedy))
		}
	}
	want = append(want, config.Kinds...)
	for _, s := range []wire.HealthState{wire.StateUnknown, wire.StateOK, wire.StateDegraded, wire.StateFault, wire.StateUnreachable, wire.StateBusy} {
		want = append(want, string(s))
	}
	for _, s := range want {
		if q, _ := json.Marshal(s); !has[string(q)] {
			t.Errorf("%s is not in packDict", q)
		}
	}
}

// A record written by this format version reads back to the same payload in
// every later one: testdata/record-v2.txt holds a stored record (hex) and
// the payload it must publish as.
func TestStoredRecordGolden(t *testing.T) {
	b, err := os.ReadFile("testdata/record-v2.txt")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 lines (hex record, payload), got %d", len(lines))
	}
	v, err := hex.DecodeString(lines[0])
	if err != nil {
		t.Fatal(err)
	}
	r, err := decodeRecord(v)
	if err != nil {
		t.Fatal(err)
	}
	h := headerTemplates{id: testID}
	got, err := h.payload("20261122T153927Z-0123456789abcdef", 1763803167000001, &r)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != lines[1] {
		t.Fatalf("payload\n%s\nwant\n%s", got, lines[1])
	}
	if _, err := wire.Decode[wire.Event](got); err != nil {
		t.Fatal(err)
	}
	if re := r.encode(); !bytes.Equal(re, v) {
		t.Fatalf("the record encodes differently now:\n%x\nwas\n%x", re, v)
	}
}
