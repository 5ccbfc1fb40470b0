package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// Device is a receipt printer record of acme.
func Device(store, id, model string) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "a1", ID: id, Kind: "receipt_printer",
		State: wire.StateOK, Reported: wire.StateOK, Identity: wire.Identity{Vendor: "EPSON", Model: model}}
}

// Episode is an episode of code on an acme device.
func Episode(store, dev string, code wire.FaultCode, model string, start time.Time) incident.Episode {
	return incident.Episode{Key: incident.Fingerprint("acme", store, dev, code), Start: start, Model: model}
}

func faultCountsPerDeviceAndPerModel(t *testing.T, newStore New) {
	st := open(t, newStore)
	day := 24 * time.Hour
	eps := []incident.Episode{
		Episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", T0.Add(-40*day)), // too old
		Episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", T0.Add(-20*day)),
		Episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", T0.Add(-time.Hour)),
		Episode("s1", "prn1", wire.FaultPaperOut, "TM-T88VI", T0.Add(-time.Hour)), // another fault
		Episode("s2", "prn7", wire.FaultPaperJam, "TM-T88VI", T0.Add(-2*day)),     // same model, other store
		Episode("s2", "prn8", wire.FaultPaperJam, "TM-T20III", T0.Add(-2*day)),    // another model
		Episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", T0.Add(time.Hour)),  // after the question
	}
	commit(t, st, incident.Changes{Episodes: eps})
	q := store.FaultQuery{Key: incident.Fingerprint("acme", "s1", "prn1", wire.FaultPaperJam), Tenant: "acme", Model: "TM-T88VI",
		Fault: wire.FaultPaperJam, From: T0.Add(-30 * day), To: T0}
	cases := []struct {
		name string
		q    func(store.FaultQuery) store.FaultQuery
		want store.FaultCounts
	}{
		{"last 30 days", func(q store.FaultQuery) store.FaultQuery { return q }, store.FaultCounts{Device: 2, Model: 3}},
		{"other tenant", func(q store.FaultQuery) store.FaultQuery { q.Tenant = "bolt"; return q }, store.FaultCounts{Device: 2, Model: 0}},
		{"no model", func(q store.FaultQuery) store.FaultQuery { q.Model = ""; return q }, store.FaultCounts{Device: 2}},
		{"other model", func(q store.FaultQuery) store.FaultQuery { q.Model = "TM-T20III"; return q }, store.FaultCounts{Device: 2, Model: 1}},
		{"the last day", func(q store.FaultQuery) store.FaultQuery { q.From = T0.Add(-day); return q }, store.FaultCounts{Device: 1, Model: 1}},
		{"up to later", func(q store.FaultQuery) store.FaultQuery { q.To = T0.Add(2 * time.Hour); return q }, store.FaultCounts{Device: 3, Model: 4}},
		{"empty range", func(q store.FaultQuery) store.FaultQuery { q.To = q.From; return q }, store.FaultCounts{}},
		{"from before 1970", func(q store.FaultQuery) store.FaultQuery { q.From = time.Time{}; return q }, store.FaultCounts{Device: 3, Model: 4}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := st.FaultCounts(c.q(q))
			if err != nil {
				t.Fatal(err)
			}
			if got != c.want {
				t.Errorf("got %+v, want %+v", got, c.want)
			}
		})
	}
}

// Episode starts are compared with the exact times the engine keeps, so a
// restart must give them back to the nanosecond; a whole second's start
// also has zero bytes in bbolt's key.
func snapshotKeepsEpisodesStartingOnAWholeSecond(t *testing.T, newStore New) {
	st := open(t, newStore)
	ep := Episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", T0)
	odd := Episode("s1", "prn1", wire.FaultPaperOut, "TM-T88VI", T0.Add(123456789*time.Nanosecond))
	commit(t, st, incident.Changes{Episodes: []incident.Episode{ep, odd}})
	snap, err := st.Snapshot(24*time.Hour, T0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Time{}
	for _, e := range snap.Episodes {
		got[e.Key] = e.Start
	}
	if len(snap.Episodes) != 2 || !got[ep.Key].Equal(ep.Start) || !got[odd.Key].Equal(odd.Start) {
		t.Errorf("episodes after a restart: %+v, want %v and %v", snap.Episodes, ep, odd)
	}
}

func snapshotHoldsWhatTheEngineRestartsFrom(t *testing.T, newStore New) {
	st := open(t, newStore)
	day := 24 * time.Hour
	inc := func(id string, kind incident.Kind, state incident.State, opened time.Time) incident.Incident {
		i := Incident(id, "d-"+id, state, opened)
		i.Kind = kind
		return i
	}
	w := incident.Window{ID: "w1", Tenant: "acme", Store: "s1", Start: T0, End: T0.Add(time.Hour), Reason: "refit"}
	commit(t, st, incident.Changes{
		Incidents: []incident.Incident{
			inc("INC-000001", incident.KindFault, incident.StateOpen, T0.Add(-30*day)),
			inc("INC-000002", incident.KindFault, incident.StateAcknowledged, T0),
			inc("INC-000003", incident.KindFault, incident.StateResolved, T0),
			inc("INC-000004", incident.KindChronic, incident.StateClosed, T0.Add(-day)),    // within the window
			inc("INC-000005", incident.KindChronic, incident.StateClosed, T0.Add(-10*day)), // before it
			inc("INC-000006", incident.KindAgentOffline, incident.StateOpen, T0.Add(-time.Hour)),
		},
		Stores:   []incident.StoreRecord{{Tenant: "acme", Store: "s1", Info: wire.StoreInfo{TimeZone: "Europe/Berlin"}}},
		Agents:   []incident.AgentRecord{{Tenant: "acme", Store: "s1", Agent: "a1", Online: true, Boot: "b1"}},
		Devices:  []incident.DeviceRecord{Device("s1", "prn1", "TM-T88VI"), Device("s1", "prn2", "TM-T88VI")},
		Episodes: []incident.Episode{Episode("s1", "prn1", wire.FaultPaperJam, "", T0.Add(-2*day)), Episode("s1", "prn1", wire.FaultPaperJam, "", T0.Add(-9*day))},
		Windows:  []incident.Window{w, {ID: "w2", Tenant: "acme", Store: "s1", Start: T0, End: T0.Add(time.Hour)}},
	})
	w.Reason = "refit, longer"
	w.End = T0.Add(2 * time.Hour)
	commit(t, st, incident.Changes{Windows: []incident.Window{w}, DeleteWindows: []string{"w2", "w-unknown"}})
	snap, err := st.Snapshot(7*day, T0)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, inc := range snap.Incidents {
		ids[inc.ID] = true
	}
	want := map[string]bool{"INC-000001": true, "INC-000002": true, "INC-000004": true, "INC-000006": true}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("incidents %v, want the live ones and the chronic ones in the window %v", ids, want)
	}
	if snap.LastID != 6 || len(snap.Stores) != 1 || len(snap.Agents) != 1 || !snap.Agents[0].Online || len(snap.Devices) != 2 {
		t.Errorf("records: last id %d, %d stores, %+v agents, %d devices", snap.LastID, len(snap.Stores), snap.Agents, len(snap.Devices))
	}
	if len(snap.Episodes) != 1 || !snap.Episodes[0].Start.Equal(T0.Add(-2*day)) {
		t.Errorf("episodes in the window: %+v", snap.Episodes)
	}
	if len(snap.Windows) != 1 || snap.Windows[0].Reason != "refit, longer" || !snap.Windows[0].End.Equal(w.End) {
		t.Errorf("windows %+v", snap.Windows)
	}
}

func installedDevice(store, id, vendor, model string, at time.Time) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "a1", ID: id, Kind: "receipt_printer",
		Identity: wire.Identity{Vendor: vendor, Model: model, Serial: "S-" + id}, Updated: at}
}

func installs(t *testing.T, st store.Store, tenant, store_ string) []store.Install {
	t.Helper()
	var out []store.Install
	if err := st.ScanInstalls(tenant, store_, func(in store.Install) error { out = append(out, in); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// The install history is what reports count installed device-time from.
// Each row commits device records and says which stretches the history
// then holds for the device.
func installHistoryFollowsTheDevicesModel(t *testing.T, newStore New) {
	day := func(n int) time.Time { return T0.AddDate(0, 0, n) }
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
			st := open(t, newStore)
			// One record per commit, and all of them in one commit: the
			// result must not depend on batching.
			for _, r := range c.records {
				commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{r}})
			}
			batched := open(t, newStore)
			commit(t, batched, incident.Changes{Devices: c.records})
			for _, s := range []store.Store{st, batched} {
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

func scanInstallsFiltersByTenantAndStoreAndOrdersByDevice(t *testing.T, newStore New) {
	st := open(t, newStore)
	other := installedDevice("s1", "p1", "EPSON", "TM-T88VI", T0)
	other.Tenant = "acme2" // a tenant whose name starts with another's
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{
		installedDevice("s2", "p1", "EPSON", "TM-T88VI", T0),
		installedDevice("s1", "p10", "EPSON", "TM-T88VI", T0),
		installedDevice("s1", "p1", "EPSON", "TM-T88VI", T0.Add(time.Hour)),
		installedDevice("s10", "p1", "EPSON", "TM-T88VI", T0),
		other,
	}})
	commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{installedDevice("s1", "p1", "Star", "TSP143", T0.Add(2*time.Hour))}})
	key := func(xs []store.Install) (out []string) {
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

func scanLogStreamsTheRangeInOrderAcrossChunks(t *testing.T, newStore New) {
	st := open(t, newStore)
	n := 3*store.ScanChunk + 17
	var c incident.Changes
	for i := range n {
		// Pairs of entries share a time, so chunk borders fall between
		// entries of one instant.
		c.Log = append(c.Log, incident.LogEntry{At: T0.Add(time.Duration(i/2) * time.Second), Kind: incident.LogState, Device: fmt.Sprint(i)})
	}
	commit(t, st, c)
	from, to := T0.Add(time.Second), T0.Add(time.Duration(n/2-1)*time.Second)
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
		if got[i].Device != want[i].Device || got[i].Device != fmt.Sprint(i+2) {
			t.Fatalf("entry %d: %s, Log has %s", i, got[i].Device, want[i].Device)
		}
	}
	if !got[0].At.Equal(from) || !got[len(got)-1].At.Before(to) {
		t.Errorf("range: first %v last %v", got[0].At, got[len(got)-1].At)
	}
}

func scanLogCallbackMayUseTheStoreAndStopTheScan(t *testing.T, newStore New) {
	st := open(t, newStore)
	var c incident.Changes
	for i := range 2 * store.ScanChunk {
		c.Log = append(c.Log, incident.LogEntry{At: T0.Add(time.Duration(i) * time.Second), Kind: incident.LogState})
	}
	commit(t, st, c)
	stop := errors.New("enough")
	seen := 0
	err := st.ScanLog(T0, T0.Add(time.Hour), nil, func(l incident.LogEntry) error {
		seen++
		if seen == 10 {
			// A write from inside the callback: it would deadlock if the
			// scan held its read transaction.
			commit(t, st, incident.Changes{Log: []incident.LogEntry{{At: T0.Add(-time.Hour), Kind: incident.LogState}}})
		}
		if seen == store.ScanChunk+5 {
			return stop
		}
		return nil
	})
	if !errors.Is(err, stop) || seen != store.ScanChunk+5 {
		t.Errorf("scan ended with %v after %d entries", err, seen)
	}
}

func scanLogSkipsOtherKinds(t *testing.T, newStore New) {
	st := open(t, newStore)
	kinds := []incident.LogKind{incident.LogState, incident.LogPresence, incident.LogEpisode, incident.LogIncident}
	var c incident.Changes
	for i := range 40 {
		c.Log = append(c.Log, incident.LogEntry{At: T0.Add(time.Duration(i) * time.Minute), Kind: kinds[i%4], Device: fmt.Sprint(i),
			Detail: `a detail with "kind":"episode" in it`})
	}
	commit(t, st, c)
	var got []string
	err := st.ScanLog(T0, T0.Add(time.Hour), []incident.LogKind{incident.LogEpisode, incident.LogIncident}, func(l incident.LogEntry) error {
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

// replacementWithANewSerialIsAnInstall: a new serial number on the same
// device id and model (a replaced unit) starts a stretch of its own; a
// serial learnt for the first time, or not read, does not.
func replacementWithANewSerialIsAnInstall(t *testing.T, newStore New) {
	day := func(n int) time.Time { return T0.AddDate(0, 0, n) }
	unit := func(serial string, d time.Time) incident.DeviceRecord {
		r := installedDevice("s1", "p1", "EPSON", "TM-T88VI", d)
		r.Identity.Serial = serial
		return r
	}
	records := []incident.DeviceRecord{unit("", day(0)), unit("X5E1", day(1)), unit("X5E1", day(2)), unit("", day(3)), unit("Z9K4", day(10)),
		unit("Z9K4", day(11))}
	want := []store.Install{
		{Model: "TM-T88VI", Serial: "X5E1", From: day(0)},
		{Model: "TM-T88VI", Serial: "Z9K4", From: day(10)},
	}
	st := open(t, newStore)
	for _, r := range records {
		commit(t, st, incident.Changes{Devices: []incident.DeviceRecord{r}})
	}
	batched := open(t, newStore)
	commit(t, batched, incident.Changes{Devices: records})
	for _, s := range []store.Store{st, batched} {
		got := installs(t, s, "acme", "s1")
		if len(got) != len(want) {
			t.Fatalf("stretches %+v, want %+v", got, want)
		}
		for i, w := range want {
			if got[i].Model != w.Model || got[i].Vendor != "EPSON" || got[i].Serial != w.Serial || !got[i].From.Equal(w.From) {
				t.Errorf("stretch %d: %+v, want %+v", i, got[i], w)
			}
		}
	}
}
