package store

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// What only the bbolt file has: files written by earlier versions, and
// how it reads its own keys.

var t0 = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func open(t *testing.T, path string) *Bolt {
	t.Helper()
	s, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func commit(t testing.TB, st *Bolt, c incident.Changes) {
	t.Helper()
	if err := st.Commit(c); err != nil {
		t.Fatal(err)
	}
}

func device(store, id, model string) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "a1", ID: id, Kind: "receipt_printer",
		State: wire.StateOK, Reported: wire.StateOK, Identity: wire.Identity{Vendor: "EPSON", Model: model}, Updated: t0}
}

func episode(store, dev string, code wire.FaultCode, model string, start time.Time) incident.Episode {
	return incident.Episode{Key: incident.Fingerprint("acme", store, dev, code), Start: start, Model: model}
}

func installs(t *testing.T, st *Bolt) []Install {
	t.Helper()
	var out []Install
	if err := st.ScanInstalls("", "", func(in Install) error { out = append(out, in); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// A file written before the model index existed gets it at open, from the
// recorded episodes and the devices' models.
func TestModelIndexIsBuiltForAnOlderFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	st, err := OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	err = st.Commit(incident.Changes{
		Devices:  []incident.DeviceRecord{device("s1", "prn1", "TM-T88VI"), device("s2", "prn7", "TM-T88VI")},
		Episodes: []incident.Episode{episode("s1", "prn1", wire.FaultPaperJam, "", t0), episode("s2", "prn7", wire.FaultPaperJam, "", t0)},
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bModelEpisodes) })
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	st = open(t, path)
	got, err := st.FaultCounts(FaultQuery{Tenant: "acme", Model: "TM-T88VI", Fault: wire.FaultPaperJam, From: t0, To: t0.Add(time.Second)})
	if err != nil || got.Model != 2 {
		t.Errorf("model count after the rebuild: %+v %v, want 2", got, err)
	}
}

func TestAFileFromBeforeTheInstallHistoryCountsItsDevicesFromTheBeginning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	st := open(t, path)
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{device("s1", "p1", "TM-T88VI")}})
	if err := st.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bInstalls) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open(t, path)
	got := installs(t, st)
	if len(got) != 1 || got[0].Model != "TM-T88VI" || !got[0].From.IsZero() {
		t.Fatalf("seeded history %+v, want one stretch from the beginning", got)
	}
	st.Close()
	st = open(t, path) // opening again seeds nothing twice
	if got := installs(t, st); len(got) != 1 {
		t.Errorf("after a second open: %+v", got)
	}
}

// logKind relies on how LogEntry is encoded: its time, then its kind.
func TestLogKindReadsTheKindAsTheStoreWritesIt(t *testing.T) {
	for _, k := range []incident.LogKind{incident.LogState, incident.LogPresence, incident.LogEpisode, incident.LogIncident} {
		b, err := json.Marshal(incident.LogEntry{At: time.Date(2026, 11, 24, 9, 0, 0, 123456789, time.FixedZone("x", 3600)), Kind: k, Detail: `"kind":"other"`})
		if err != nil {
			t.Fatal(err)
		}
		if got, ok := logKind(b); !ok || got != k {
			t.Errorf("%s: read %q %v from %s", k, got, ok, b)
		}
	}
	if _, ok := logKind([]byte(`{"at":"2026-11-24T09:00:00Z"}`)); ok {
		t.Error("a kind read from an entry without one")
	}
}

// Export hands over everything the file holds, with what the store
// assigned (sequence numbers, cursors, the install history, episode models).
func TestExportHandsOverTheWholeFile(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	inc := incident.Incident{ID: "INC-000001", Key: "acme/s1/prn1/paper_jam", Kind: incident.KindFault, State: incident.StateOpen, OpenedAt: t0,
		Facts: incident.Facts{Severity: wire.SeverityError}}
	var log []incident.LogEntry
	for i := range ExportChunk + 3 {
		log = append(log, incident.LogEntry{At: t0.Add(time.Duration(i) * time.Second), Kind: incident.LogState})
	}
	commit(t, st, incident.Changes{Incidents: []incident.Incident{inc}, Log: log,
		Timeline:      []incident.Entry{{Incident: inc.ID, At: t0, Kind: incident.EntryOpened}},
		Notifications: []incident.Notification{{Kind: incident.NotifyOpened, At: t0, Incident: inc}},
		Devices:       []incident.DeviceRecord{device("s1", "prn1", "TM-T88VI")},
		Episodes:      []incident.Episode{episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0)},
	})
	if err := st.SetCursor("helpdesk", 1); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(AuditEntry{At: t0, Event: AuditRequest, ID: "q1"}); err != nil {
		t.Fatal(err)
	}
	var all Dump
	calls := 0
	err := st.Export(func(d Dump) error {
		calls++
		all.Incidents = append(all.Incidents, d.Incidents...)
		all.Timeline = append(all.Timeline, d.Timeline...)
		all.Notifications = append(all.Notifications, d.Notifications...)
		all.Log = append(all.Log, d.Log...)
		all.Devices = append(all.Devices, d.Devices...)
		all.Episodes = append(all.Episodes, d.Episodes...)
		all.Installs = append(all.Installs, d.Installs...)
		all.Audit = append(all.Audit, d.Audit...)
		if d.Cursors != nil {
			all.Cursors = d.Cursors
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(all.Incidents) != 1 || len(all.Timeline) != 1 || len(all.Notifications) != 1 || all.Notifications[0].Seq != 1 ||
		len(all.Log) != ExportChunk+3 || len(all.Devices) != 1 || len(all.Installs) != 1 || len(all.Audit) != 1 || all.Cursors["helpdesk"] != 1 {
		t.Errorf("export: %d incidents, %d entries, %+v notifications, %d log, %d devices, %d installs, %d audit, cursors %v",
			len(all.Incidents), len(all.Timeline), all.Notifications, len(all.Log), len(all.Devices), len(all.Installs), len(all.Audit), all.Cursors)
	}
	if len(all.Episodes) != 2 || all.Episodes[1].Model != "TM-T88VI" || !all.Episodes[0].Start.Equal(t0) || all.Episodes[1].Key != all.Episodes[0].Key {
		t.Errorf("episodes (the record, then the model index): %+v", all.Episodes)
	}
	if calls < 10 {
		t.Errorf("%d chunks; the log alone is two", calls)
	}
}
