package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

var (
	recAt    = time.Date(2026, 12, 7, 2, 30, 1, 123456789, time.UTC)
	recZone  = time.FixedZone("CET", 3600)
	recFault = wire.NewFault(wire.FaultPaperOut, "cover open")
)

func fullDevice() incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: "s0042", Agent: "backoffice", ID: "receipt-1", Kind: "receipt_printer",
		Driver: "escpos", Location: "till 1", Criticality: wire.CriticalityHigh,
		Identity: wire.Identity{Vendor: "Epson", Model: "TM-T88VI", Serial: "X5ZK012345", Firmware: "30.02", Extra: map[string]string{"b": "2", "a": "1"}},
		State:    wire.StateFault, Reported: wire.StateFault, Holder: &wire.Holder{Process: "POS.exe", PID: 4312},
		Faults: []wire.Fault{recFault, wire.NewFault(wire.FaultPaperLow, "")}, Since: recAt, LastSeq: 981, Updated: recAt.In(recZone),
		Changes: map[wire.FaultCode][]time.Time{wire.FaultPaperOut: {recAt.Add(-time.Minute), recAt}, wire.FaultCoverOpen: {recAt.In(recZone)}}}
}

func fullLog() incident.LogEntry {
	return incident.LogEntry{At: recAt, Kind: incident.LogEpisode, Tenant: "acme", Store: "s0042", Agent: "backoffice", Device: "receipt-1",
		DevKind: "receipt_printer", Vendor: "Epson", Model: "TM-T88VI", Firmware: "30.02", State: "fault",
		Faults: []wire.FaultCode{wire.FaultPaperOut, wire.FaultPaperLow}, Since: recAt.Add(-time.Minute), Duration: 60.000001,
		Flapping: true, Suppressed: "hold_down", Incident: "INC-000042", Detail: "paper out for 60 s"}
}

// TestRecordsMatchMarshal: the hand-written encoder takes the usual records
// (no fallback) and writes json.Marshal's bytes; what it declines (strings
// json.Marshal escapes, times it refuses, NaN) still encodes as before.
func TestRecordsMatchMarshal(t *testing.T) {
	dev := func(edit func(*incident.DeviceRecord)) *incident.DeviceRecord { d := fullDevice(); edit(&d); return &d }
	log := func(edit func(*incident.LogEntry)) *incident.LogEntry { l := fullLog(); edit(&l); return &l }
	cases := []struct {
		name     string
		v        any
		fallback bool
	}{
		{"device, every field", dev(func(*incident.DeviceRecord) {}), false},
		{"device, bare", &incident.DeviceRecord{}, false},
		{"device, empty holder and identity", dev(func(d *incident.DeviceRecord) {
			d.Holder, d.Identity, d.Faults, d.Since, d.Updated = &wire.Holder{}, wire.Identity{}, []wire.Fault{}, time.Time{}, time.Time{}
		}), false},
		{"device, unicode", dev(func(d *incident.DeviceRecord) { d.Location = "Kasse 1 – Süd" }), false},
		{"device, escaped string", dev(func(d *incident.DeviceRecord) { d.Location = "till <1> & \"2\"\n" }), true},
		{"device, escaped fault detail", dev(func(d *incident.DeviceRecord) { d.Faults[0].Detail = "a\tb" }), true},
		{"device, identity extra escaped", dev(func(d *incident.DeviceRecord) { d.Identity.Extra = map[string]string{"k": "<v>"} }), true},
		{"device, year 10000", dev(func(d *incident.DeviceRecord) { d.Since = time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) }), true},
		{"device, changes empty and nil", dev(func(d *incident.DeviceRecord) {
			d.Changes = map[wire.FaultCode][]time.Time{"b": {}, "a": nil}
		}), false},
		{"device, changes escaped code", dev(func(d *incident.DeviceRecord) { d.Changes = map[wire.FaultCode][]time.Time{"a<b": {recAt}} }), true},
		{"device, changes odd offset", dev(func(d *incident.DeviceRecord) {
			d.Changes = map[wire.FaultCode][]time.Time{"a": {recAt.In(time.FixedZone("odd", 30))}}
		}), true},
		{"log, every field", log(func(*incident.LogEntry) {}), false},
		{"log, bare", &incident.LogEntry{}, false},
		{"log, presence", &incident.LogEntry{At: recAt, Kind: incident.LogPresence, Tenant: "acme", Store: "s1", Agent: "a", State: "online"}, false},
		{"log, tiny duration", log(func(l *incident.LogEntry) { l.Duration = 1e-9 }), false},
		{"log, huge duration", log(func(l *incident.LogEntry) { l.Duration = 1e22 }), false},
		{"log, NaN duration", log(func(l *incident.LogEntry) { l.Duration = math.NaN() }), true},
		{"log, escaped fault code", log(func(l *incident.LogEntry) { l.Faults = []wire.FaultCode{"a&b"} }), true},
		{"log, invalid UTF-8", log(func(l *incident.LogEntry) { l.Detail = "\xff" }), true},
		{"log, odd offset", log(func(l *incident.LogEntry) { l.At = l.At.In(time.FixedZone("odd", 30)) }), true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			checkRecord(t, c.v, c.fallback)
		})
	}
}

// checkRecord encodes v after other bytes in a shared buffer, as a commit
// does, and compares with json.Marshal; fallback says whether the hand
// encoder must decline it.
func checkRecord(t *testing.T, v any, fallback bool) {
	t.Helper()
	want, wantErr := json.Marshal(v)
	prefix := []byte("earlier record")
	buf, got, err := encodeRecord(append(make([]byte, 0, 8), prefix...), v)
	if (err != nil) != (wantErr != nil) {
		t.Fatalf("error %v, json.Marshal's %v", err, wantErr)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("encoded\n%s\njson.Marshal\n%s", got, want)
	}
	if !bytes.Equal(buf[:len(prefix)], prefix) {
		t.Fatalf("the earlier record in the buffer was overwritten: %q", buf[:len(prefix)])
	}
	handled := len(buf) > len(prefix)
	if handled == fallback {
		t.Fatalf("encoded by hand: %v, want %v", handled, !fallback)
	}
	if handled && cap(got) != len(got) {
		t.Fatal("the record's slice has spare capacity: the next record would be appended into it")
	}
}

// FuzzRecordsMatchMarshal: for any field values, the store writes exactly
// json.Marshal's bytes, by hand or by falling back.
func FuzzRecordsMatchMarshal(f *testing.F) {
	f.Add("acme", "s0042", "receipt-1", "till 1", "Epson", "paper_out", 60.5, int64(1765074601123456789), int32(3600), uint64(7), uint8(0xff))
	f.Add("", "", "", "", "", "", 0.0, int64(0), int32(0), uint64(0), uint8(0))
	f.Add("a<b", "\u2028", "\xff", "é", "\"", "\\", 1e-7, int64(-62135596800000000), int32(30), uint64(1), uint8(0x55))
	f.Fuzz(func(t *testing.T, s1, s2, s3, s4, s5, s6 string, fl float64, nanos int64, off int32, seq uint64, flags uint8) {
		at := time.Unix(0, nanos).In(time.FixedZone("z", int(off)))
		var holder *wire.Holder
		if flags&1 != 0 {
			holder = &wire.Holder{Process: s5, PID: int(seq % 100000)}
		}
		var faults []wire.Fault
		var codes []wire.FaultCode
		if flags&2 != 0 {
			faults = []wire.Fault{{Code: wire.FaultCode(s6), Severity: wire.Severity(flags >> 5), Remedy: wire.Remedy(s4), Detail: s5}}
			codes = []wire.FaultCode{wire.FaultCode(s6), wire.FaultCode(s1)}
		}
		var extra map[string]string
		var changes map[wire.FaultCode][]time.Time
		if flags&4 != 0 {
			extra = map[string]string{s1: s2, s3: s4}
			changes = map[wire.FaultCode][]time.Time{wire.FaultCode(s6): {at, at.Add(time.Duration(seq))}, wire.FaultCode(s1): nil}
		}
		since := time.Time{}
		if flags&8 != 0 {
			since = at.Add(time.Duration(seq))
		}
		d := incident.DeviceRecord{Tenant: s1, Store: s2, Agent: s3, ID: s4, Kind: s5, Driver: s6, Location: s4,
			Criticality: wire.Criticality(s5), Identity: wire.Identity{Vendor: s5, Model: s6, Serial: s1, Extra: extra},
			State: wire.HealthState(s2), Reported: wire.HealthState(s3), Holder: holder, Faults: faults, Since: since, LastSeq: seq, Updated: at, Changes: changes}
		l := incident.LogEntry{At: at, Kind: incident.LogKind(s1), Tenant: s2, Store: s3, Agent: s4, Device: s5, DevKind: s6,
			Vendor: s1, Model: s2, Firmware: s3, State: s4, Faults: codes, Since: since, Duration: fl, Flapping: flags&16 != 0,
			Suppressed: s5, Incident: s6, Detail: s1}
		for _, v := range []any{&d, &l} {
			want, wantErr := json.Marshal(v)
			_, got, err := encodeRecord(nil, v)
			if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
				t.Fatalf("encoded %s (%v), json.Marshal %s (%v)", got, err, want, wantErr)
			}
		}
	})
}

// TestCommitsReuseRecordBuffers: a commit's records are encoded into the
// buffers of the commit before; what each commit wrote must still read
// back as it was written.
func TestCommitsReuseRecordBuffers(t *testing.T) {
	st, err := OpenBolt(t.TempDir() + "/hub.db")
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	want := map[string]incident.DeviceRecord{}
	for c := range 3 {
		var ch incident.Changes
		for i := range 400 { // more than one chunk per commit
			d := fullDevice()
			d.ID, d.LastSeq = fmt.Sprintf("dev-%d-%d", c, i), uint64(c*1000+i)
			ch.Devices = append(ch.Devices, d)
			ch.Log = append(ch.Log, incident.LogEntry{At: recAt.Add(time.Duration(c*1000 + i)), Kind: incident.LogState, Tenant: d.Tenant, Store: d.Store, Device: d.ID})
			want[d.ID] = d
		}
		if err := st.Commit(ch); err != nil {
			t.Fatal(err)
		}
	}
	snap, err := st.Snapshot(time.Hour, recAt)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Devices) != len(want) {
		t.Fatalf("%d devices read back, want %d", len(snap.Devices), len(want))
	}
	for _, d := range snap.Devices {
		w := want[d.ID]
		got, _ := json.Marshal(d)
		exp, _ := json.Marshal(w)
		if !bytes.Equal(got, exp) {
			t.Fatalf("device %s read back as\n%s\nwant\n%s", d.ID, got, exp)
		}
	}
	log, err := st.Log(recAt, recAt.Add(time.Hour), 10000)
	if err != nil || len(log) != 1200 {
		t.Fatalf("log: %d entries, %v", len(log), err)
	}
	for i, l := range log {
		if l.Device != fmt.Sprintf("dev-%d-%d", i/400, i%400) {
			t.Fatalf("log entry %d is about %s", i, l.Device)
		}
	}
}
