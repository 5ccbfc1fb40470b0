package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

func installedDevice(store, id, vendor, model string, at time.Time) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "a1", ID: id, Kind: "receipt_printer",
		Identity: wire.Identity{Vendor: vendor, Model: model, Serial: "S-" + id}, Updated: at}
}

func installs(t *testing.T, st *Bolt, tenant, store string) []Install {
	t.Helper()
	var out []Install
	if err := st.ScanInstalls(tenant, store, func(in Install) error { out = append(out, in); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

func commit(t *testing.T, st *Bolt, c incident.Changes) {
	t.Helper()
	if err := st.Commit(c); err != nil {
		t.Fatal(err)
	}
}

// The install history is what reports count installed device-time from.
// Each row commits device records and says which stretches the history
// then holds for the device.
func TestInstallHistoryFollowsTheDevicesModel(t *testing.T) {
	day := func(n int) time.Time { return t0.AddDate(0, 0, n) }
	type stretch struct {
		model string
		from  time.Time
	}
	for _, c := range []struct {
		name    string
		records []incident.DeviceRecord
		want    []stretch
	}{
		{"a new device starts a stretch",
			[]incident.DeviceRecord{installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(0))},
			[]stretch{{"TM-T88VI", day(0)}}},
		{"the same model again (every event updates the record) starts nothing",
			[]incident.DeviceRecord{installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(0)), installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(3))},
			[]stretch{{"TM-T88VI", day(0)}}},
		{"another model under the same id is a swap",
			[]incident.DeviceRecord{installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(0)), installedDevice("s1", "p1", "Star", "TSP143", day(10))},
			[]stretch{{"TM-T88VI", day(0)}, {"TSP143", day(10)}}},
		{"an identity the agent could not read is not a swap",
			[]incident.DeviceRecord{installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(0)), installedDevice("s1", "p1", "", "", day(2))},
			[]stretch{{"TM-T88VI", day(0)}}},
		{"a device first seen without identity gets its model when it is read",
			[]incident.DeviceRecord{installedDevice("s1", "p1", "", "", day(0)), installedDevice("s1", "p1", "EPSON", "TM-T88VI", day(1))},
			[]stretch{{"", day(0)}, {"TM-T88VI", day(1)}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			st := open(t, filepath.Join(t.TempDir(), "hub.db"))
			// One record per commit, and all of them in one commit: the
			// result must not depend on batching.
			for _, r := range c.records {
				commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{r}})
			}
			batched := open(t, filepath.Join(t.TempDir(), "hub.db"))
			commit(t, batched, incident.Changes{Devices: c.records})
			for _, s := range []*Bolt{st, batched} {
				got := installs(t, s, "acme", "s1")
				if len(got) != len(c.want) {
					t.Fatalf("stretches %+v, want %+v", got, c.want)
				}
				for i, w := range c.want {
					if got[i].Model != w.model || !got[i].From.Equal(w.from) || got[i].Device != "p1" || got[i].Kind != "receipt_printer" {
						t.Errorf("stretch %d: %+v, want %+v", i, got[i], w)
					}
				}
			}
		})
	}
}

func TestScanInstallsFiltersByTenantAndStoreAndOrdersByDevice(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	other := installedDevice("s1", "p1", "EPSON", "TM-T88VI", t0)
	other.Tenant = "acme2" // a tenant whose name starts with another's
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{
		installedDevice("s2", "p1", "EPSON", "TM-T88VI", t0),
		installedDevice("s1", "p10", "EPSON", "TM-T88VI", t0),
		installedDevice("s1", "p1", "EPSON", "TM-T88VI", t0.Add(time.Hour)),
		installedDevice("s10", "p1", "EPSON", "TM-T88VI", t0),
		other,
	}})
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{installedDevice("s1", "p1", "Star", "TSP143", t0.Add(2*time.Hour))}})
	key := func(xs []Install) (out []string) {
		for _, x := range xs {
			out = append(out, x.Tenant+"/"+x.Store+"/"+x.Device+"/"+x.Model)
		}
		return out
	}
	for _, c := range []struct {
		tenant, store string
		want          string
	}{
		{"acme", "s1", "[acme/s1/p1/TM-T88VI acme/s1/p1/TSP143 acme/s1/p10/TM-T88VI]"},
		{"acme", "", "[acme/s1/p1/TM-T88VI acme/s1/p1/TSP143 acme/s1/p10/TM-T88VI acme/s10/p1/TM-T88VI acme/s2/p1/TM-T88VI]"},
		{"", "s1", "[acme/s1/p1/TM-T88VI acme/s1/p1/TSP143 acme/s1/p10/TM-T88VI acme2/s1/p1/TM-T88VI]"},
		{"acme2", "", "[acme2/s1/p1/TM-T88VI]"},
		{"nobody", "", "[]"},
	} {
		if got := fmt.Sprint(key(installs(t, st, c.tenant, c.store))); got != c.want {
			t.Errorf("tenant %q store %q: %s, want %s", c.tenant, c.store, got, c.want)
		}
	}
}

func TestAFileFromBeforeTheInstallHistoryCountsItsDevicesFromTheBeginning(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hub.db")
	st := open(t, path)
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{installedDevice("s1", "p1", "EPSON", "TM-T88VI", t0)}})
	if err := st.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bInstalls) }); err != nil {
		t.Fatal(err)
	}
	st.Close()
	st = open(t, path)
	got := installs(t, st, "", "")
	if len(got) != 1 || got[0].Model != "TM-T88VI" || !got[0].From.IsZero() {
		t.Fatalf("seeded history %+v, want one stretch from the beginning", got)
	}
	st.Close()
	st = open(t, path) // opening again seeds nothing twice
	if got := installs(t, st, "", ""); len(got) != 1 {
		t.Errorf("after a second open: %+v", got)
	}
}

func TestScanLogStreamsTheRangeInOrderAcrossChunks(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	n := 3*scanChunk + 17
	var c incident.Changes
	for i := range n {
		// Pairs of entries share a time, so chunk borders fall between
		// entries of one instant.
		c.Log = append(c.Log, incident.LogEntry{At: t0.Add(time.Duration(i/2) * time.Second), Kind: incident.LogState, Device: fmt.Sprint(i)})
	}
	commit(t, st, c)
	from, to := t0.Add(time.Second), t0.Add(time.Duration(n/2-1)*time.Second)
	var got []incident.LogEntry
	err := st.ScanLog(from, to, nil, func(l incident.LogEntry) error {
		got = append(got, l)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := st.Log(from, to, 10*n)
	if len(got) != len(want) || len(got) != n-4-(n%2) {
		t.Fatalf("scanned %d entries, Log has %d in range", len(got), len(want))
	}
	for i := range got {
		if got[i].Device != want[i].Device {
			t.Fatalf("entry %d: %s, want %s", i, got[i].Device, want[i].Device)
		}
	}
	if !got[0].At.Equal(from) || !got[len(got)-1].At.Before(to) {
		t.Errorf("range: first %v last %v", got[0].At, got[len(got)-1].At)
	}
}

func TestScanLogCallbackMayUseTheStoreAndStopTheScan(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	var c incident.Changes
	for i := range 2 * scanChunk {
		c.Log = append(c.Log, incident.LogEntry{At: t0.Add(time.Duration(i) * time.Second), Kind: incident.LogState})
	}
	commit(t, st, c)
	stop := errors.New("enough")
	seen := 0
	err := st.ScanLog(t0, t0.Add(time.Hour), nil, func(l incident.LogEntry) error {
		seen++
		if seen == 10 {
			// A write from inside the callback: it would deadlock if the
			// scan held its read transaction.
			commit(t, st, incident.Changes{Log: []incident.LogEntry{{At: t0.Add(-time.Hour), Kind: incident.LogState}}})
		}
		if seen == scanChunk+5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != scanChunk+5 {
		t.Errorf("scan ended with %v after %d entries", err, seen)
	}
}

func TestStoresListsEveryStoreRecord(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	commit(t, st, incident.Changes{Stores: []incident.StoreRecord{
		{Tenant: "acme", Store: "s1", Info: wire.StoreInfo{TimeZone: "Europe/Berlin"}},
		{Tenant: "acme", Store: "s2", Info: wire.StoreInfo{TimeZone: "Asia/Tokyo"}},
	}})
	got, err := st.Stores()
	if err != nil || len(got) != 2 || got[0].Info.TimeZone != "Europe/Berlin" || got[1].Store != "s2" {
		t.Errorf("stores %v %+v", err, got)
	}
}

func TestScanLogSkipsKindsWithoutDecodingThem(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	kinds := []incident.LogKind{incident.LogState, incident.LogPresence, incident.LogEpisode, incident.LogIncident}
	var c incident.Changes
	for i := range 40 {
		c.Log = append(c.Log, incident.LogEntry{At: t0.Add(time.Duration(i) * time.Minute), Kind: kinds[i%4], Device: fmt.Sprint(i),
			Detail: `a detail with "kind":"episode" in it`})
	}
	commit(t, st, c)
	var got []string
	err := st.ScanLog(t0, t0.Add(time.Hour), []incident.LogKind{incident.LogEpisode, incident.LogIncident}, func(l incident.LogEntry) error {
		got = append(got, string(l.Kind)+"/"+l.Device)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 20 || got[0] != "episode/2" || got[1] != "incident/3" || got[19] != "incident/39" {
		t.Errorf("episodes and incidents only: %v", got)
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
