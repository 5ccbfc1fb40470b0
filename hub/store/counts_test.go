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

func device(store, id, model string) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: "acme", Store: store, Agent: "a1", ID: id, Kind: "receipt_printer",
		State: wire.StateOK, Reported: wire.StateOK, Identity: wire.Identity{Vendor: "EPSON", Model: model}}
}

func episode(store, dev string, code wire.FaultCode, model string, start time.Time) incident.Episode {
	return incident.Episode{Key: incident.Fingerprint("acme", store, dev, code), Start: start, Model: model}
}

func TestFaultCountsPerDeviceAndPerModel(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	day := 24 * time.Hour
	eps := []incident.Episode{
		episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0.Add(-40*day)), // too old
		episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0.Add(-20*day)),
		episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0.Add(-time.Hour)),
		episode("s1", "prn1", wire.FaultPaperOut, "TM-T88VI", t0.Add(-time.Hour)), // another fault
		episode("s2", "prn7", wire.FaultPaperJam, "TM-T88VI", t0.Add(-2*day)),     // same model, other store
		episode("s2", "prn8", wire.FaultPaperJam, "TM-T20III", t0.Add(-2*day)),    // another model
		episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0.Add(time.Hour)),  // after the question
	}
	if err := st.Commit(incident.Changes{Episodes: eps}); err != nil {
		t.Fatal(err)
	}
	q := FaultQuery{Key: incident.Fingerprint("acme", "s1", "prn1", wire.FaultPaperJam), Tenant: "acme", Model: "TM-T88VI",
		Fault: wire.FaultPaperJam, From: t0.Add(-30 * day), To: t0}
	cases := []struct {
		name string
		q    func(FaultQuery) FaultQuery
		want FaultCounts
	}{
		{"last 30 days", func(q FaultQuery) FaultQuery { return q }, FaultCounts{Device: 2, Model: 3}},
		{"other tenant", func(q FaultQuery) FaultQuery { q.Tenant = "bolt"; return q }, FaultCounts{Device: 2, Model: 0}},
		{"no model", func(q FaultQuery) FaultQuery { q.Model = ""; return q }, FaultCounts{Device: 2}},
		{"other model", func(q FaultQuery) FaultQuery { q.Model = "TM-T20III"; return q }, FaultCounts{Device: 2, Model: 1}},
		{"the last day", func(q FaultQuery) FaultQuery { q.From = t0.Add(-day); return q }, FaultCounts{Device: 1, Model: 1}},
		{"up to later", func(q FaultQuery) FaultQuery { q.To = t0.Add(2 * time.Hour); return q }, FaultCounts{Device: 3, Model: 4}},
		{"empty range", func(q FaultQuery) FaultQuery { q.To = q.From; return q }, FaultCounts{}},
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

func TestTicketLinkChangesTheStoredIncident(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	inc := incident.Incident{ID: "INC-000007", Key: "acme/s1/prn1/paper_out", State: incident.StateResolved, Version: 4,
		Ticket: incident.Ticket{Severity: wire.SeverityError, Remedy: wire.RemedyStore}}
	if err := st.Commit(incident.Changes{Incidents: []incident.Incident{inc}}); err != nil {
		t.Fatal(err)
	}
	linked := t0.Add(time.Minute)
	link := incident.HelpdeskTicket{Helpdesk: "redmine", ID: "12", URL: "https://rm/issues/12", Linked: linked}
	if err := st.Commit(incident.Changes{Tickets: []incident.TicketLink{{Incident: inc.ID, Ticket: link}}}); err != nil {
		t.Fatal(err)
	}
	// A person closes it later; the engine knows only the link it was told.
	closed := incident.HelpdeskTicket{Helpdesk: "redmine", ID: "12", Linked: t0.Add(time.Hour), ClosedByPerson: "closed", ClosedAt: t0.Add(time.Hour)}
	err := st.Commit(incident.Changes{Tickets: []incident.TicketLink{{Incident: inc.ID, Ticket: closed}, {Incident: "INC-404", Ticket: closed}}})
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.Incident(inc.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := got.Helpdesk
	if h == nil || h.ID != "12" || h.URL != link.URL || !h.Linked.Equal(linked) || h.ClosedByPerson != "closed" || got.State != incident.StateResolved || got.Version != 6 {
		b, _ := json.Marshal(got)
		t.Errorf("stored incident: %s", b)
	}
	if _, err := st.Incident("INC-404"); err == nil {
		t.Error("a link created an incident")
	}
}

// Episode keys end in the start's eight bytes, which may contain zero bytes
// (every whole second does): the restart must still read them.
func TestSnapshotKeepsEpisodesStartingOnAWholeSecond(t *testing.T) {
	st := open(t, filepath.Join(t.TempDir(), "hub.db"))
	ep := episode("s1", "prn1", wire.FaultPaperJam, "TM-T88VI", t0)
	if err := st.Commit(incident.Changes{Episodes: []incident.Episode{ep}}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(24*time.Hour, t0.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Episodes) != 1 || snap.Episodes[0].Key != ep.Key || !snap.Episodes[0].Start.Equal(t0) {
		t.Errorf("episodes after a restart: %+v, want %s at %v", snap.Episodes, ep.Key, t0)
	}
}
