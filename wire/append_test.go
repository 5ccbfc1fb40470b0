package wire

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestAppendMatchesGolden decodes every golden event and metrics payload and
// checks that the hand-written appender takes it (no fallback) and writes
// exactly what json.Marshal writes, which is the golden file itself.
func TestAppendMatchesGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.json")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		data = bytes.TrimSpace(data)
		var got []byte
		var ok bool
		var m Message
		switch base := filepath.Base(file); {
		case base == "metrics.json":
			mm, err := Decode[Metrics](data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			m = mm
			got, ok = appendMetrics(nil, mm)
		case len(base) >= 5 && base[:5] == "event":
			ev, err := Decode[Event](data)
			if err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			m = ev
			got, ok = appendEvent(nil, ev)
		default:
			continue
		}
		n++
		if !ok {
			t.Errorf("%s: the appender fell back to json.Marshal", file)
			continue
		}
		want, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s: appender and json.Marshal differ\n got %s\nwant %s", file, got, want)
		}
		if !bytes.Equal(got, data) {
			t.Errorf("%s: re-encoding changed the golden payload\n got %s\nwant %s", file, got, data)
		}
		enc, err := Encode(m)
		if err != nil || !bytes.Equal(enc, data) {
			t.Errorf("%s: Encode = %s, %v; want the golden payload", file, enc, err)
		}
	}
	if n < 4 {
		t.Fatalf("only %d golden event/metrics payloads found", n)
	}
}

// TestAppendFallsBack checks values json.Marshal escapes, rewrites or
// refuses: the appender must decline them, and Encode must then give
// json.Marshal's bytes or error.
func TestAppendFallsBack(t *testing.T) {
	ev := func(edit func(*Event)) *Event {
		e := &Event{Header: Header{V: 1, Type: TypeEvent, AgentID: AgentID{"a", "s", "g"}, Boot: "b", Seq: 1, Time: time.Unix(1, 0).UTC()},
			Device: "d", State: StateFault, Previous: StateOK, Faults: []Fault{NewFault(FaultPaperOut, "")}, Since: time.Unix(0, 0).UTC()}
		edit(e)
		return e
	}
	for name, e := range map[string]*Event{
		"html":         ev(func(e *Event) { e.Reason = "a<b & c>d" }),
		"quote":        ev(func(e *Event) { e.Reason = `say "hi"\` }),
		"control":      ev(func(e *Event) { e.Reason = "tab\there\x01" }),
		"bad utf-8":    ev(func(e *Event) { e.Reason = "x\xffy" }),
		"line sep":     ev(func(e *Event) { e.Reason = "x\u2028y" }),
		"year 10000":   ev(func(e *Event) { e.Since = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }),
		"zone +24h":    ev(func(e *Event) { e.Since = time.Unix(0, 0).In(time.FixedZone("x", 24*3600)) }),
		"nan":          ev(func(e *Event) { e.Measurements = map[string]float64{"x": math.NaN()} }),
		"bad severity": ev(func(e *Event) { e.Faults[0].Severity = 9 }),
	} {
		t.Run(name, func(t *testing.T) {
			if b, ok := appendEvent(nil, e); ok {
				t.Fatalf("appender took it: %s", b)
			}
			want, wantErr := json.Marshal(e)
			got, err := Encode(e)
			if (err == nil) != (wantErr == nil) || !bytes.Equal(got, want) {
				t.Fatalf("Encode = %s, %v; json.Marshal = %s, %v", got, err, want, wantErr)
			}
		})
	}
}

// FuzzAppendMatchesMarshal is the proof that the hand-written encoder writes
// what encoding/json writes: for fuzzed events and metrics (strings with any
// bytes, any float, any instant in any zone offset, any severity, optional
// parts present or not), whenever the appender takes a message its output
// equals json.Marshal's; when it declines, json.Marshal is used.
func FuzzAppendMatchesMarshal(f *testing.F) {
	f.Add("receipt-lane3", "paper end sensor", "EPSON", "DLE EOT 4", "rtt_ms", 41.5, int64(1795338847000000000), int32(0), 3, 4312, uint64(1187), uint8(0xff))
	f.Add("a<b", "x\u2028y", "\xff", "é", "k", math.Inf(1), int64(-1), int32(3600), 9, -1, uint64(0), uint8(0))
	f.Add("", "", "", "", "", 1e-7, int64(253402300800000000), int32(-86400), 1, 0, uint64(1), uint8(0x55))
	f.Add("ok", "ü ∑ 😀", "v", "d", "n", -0.0, int64(1), int32(19800), 2, 7, uint64(1<<63), uint8(0xaa))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5 string, fl float64, nanos int64, off int32, sev, pid int, seq uint64, flags uint8) {
		tm := time.Unix(0, nanos).In(time.FixedZone("z", int(off)))
		h := Header{V: 1, Type: TypeEvent, AgentID: AgentID{s1, s3, s5}, Seq: seq, Time: tm}
		if flags&1 != 0 {
			h.Boot = s2
		}
		e := &Event{Header: h, Device: s1, State: HealthState(s4), Previous: HealthState(s5), Since: tm.Add(-time.Duration(pid))}
		if flags&2 != 0 {
			e.Kind, e.Reason = s2, s3
		}
		if flags&4 != 0 {
			e.Faults = []Fault{{Code: FaultCode(s1), Severity: Severity(sev), Remedy: Remedy(s2), Detail: s4}, NewFault(FaultPaperOut, s5)}
		}
		if flags&8 != 0 {
			e.Identity = &Identity{Vendor: s3, Serial: s4}
			if flags&16 != 0 {
				e.Identity.Extra = map[string]string{s1: s2, s3: s4, "z": s5}
			}
		}
		if flags&32 != 0 {
			e.Measurements = map[string]float64{s5: fl, s1: fl * 3, "b": -fl / 7}
		}
		if flags&64 != 0 {
			e.Holder = &Holder{PID: pid}
			if flags&128 != 0 {
				e.Holder.Process = s2
			}
		}
		compare(t, e, func() ([]byte, bool) { return appendEvent(nil, e) })

		m := &Metrics{Header: h}
		m.Type = TypeMetrics
		if flags&2 != 0 {
			m.Samples = []Sample{{Device: s1, Name: s5, Value: fl, Time: tm}, {Device: "host", Name: s2, Value: float64(pid) / 3, Time: e.Since}}
		}
		if flags&4 != 0 {
			m.Heartbeat = &Heartbeat{Uptime: fl, OutboxDepth: pid, OutboxBytes: nanos, OldestAge: float64(seq), Reconnects: seq, RSSBytes: seq >> 3, Goroutines: sev}
			if flags&8 != 0 {
				m.Heartbeat.Dropped = map[string]uint64{s1: seq, "telemetry": 12}
				m.Heartbeat.OutboxIncidents = []string{s2, s3}
			}
			if flags&16 != 0 {
				m.Heartbeat.Config = &ConfigState{Version: s1, Source: s2}
				if flags&32 != 0 {
					m.Heartbeat.Config.Error, m.Heartbeat.Config.Failed = s3, s4
				}
			}
		}
		compare(t, m, func() ([]byte, bool) { return appendMetrics(nil, m) })
	})
}

func compare(t *testing.T, m any, appendFn func() ([]byte, bool)) {
	t.Helper()
	got, ok := appendFn()
	want, err := json.Marshal(m)
	if !ok {
		return // Encode falls back to json.Marshal
	}
	if err != nil {
		t.Fatalf("appender took a message json.Marshal refuses (%v): %s", err, got)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("appender and json.Marshal differ\n got %s\nwant %s", got, want)
	}
}

// BenchmarkEncode measures Encode on the golden event and metrics, the
// messages an agent's outbox encodes on every append.
func BenchmarkEncode(b *testing.B) {
	for _, c := range []struct {
		name string
		file string
		m    func([]byte) (Message, error)
	}{
		{"Event", "testdata/event.json", func(d []byte) (Message, error) { return Decode[Event](d) }},
		{"Metrics", "testdata/metrics.json", func(d []byte) (Message, error) { return Decode[Metrics](d) }},
	} {
		data, err := os.ReadFile(c.file)
		if err != nil {
			b.Fatal(err)
		}
		m, err := c.m(data)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Encode(m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
