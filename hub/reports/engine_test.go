package reports_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// The generator writes the log as the engine does; this test makes sure of
// it by letting the real engine write one: a printer jams and its cover is
// opened (two overlapping faults), both clear ten minutes after the jam, the
// store's agent goes offline for ten minutes. Both faults open incidents
// that recover by themselves, and so does the agent's.
func TestReportOfWhatTheRealEngineLogged(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, berlin) // a Tuesday, 09:00 UTC
	clk := clock.NewFake(start.Add(-30 * time.Minute))
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
	commit := func(c incident.Changes) {
		t.Helper()
		if err := st.Commit(c); err != nil {
			t.Fatal(err)
		}
	}
	id := wire.AgentID{Tenant: "acme", Store: "s1", Agent: "backoffice"}
	seq := uint64(0)
	header := func(boot string) wire.Header {
		return wire.Header{V: wire.Version, AgentID: id, Boot: boot, Seq: seq, Time: clk.Now()}
	}
	presence := func(state string) {
		c, _ := eng.Status(&wire.Status{Header: header("b1"), State: state}, clk.Now())
		commit(c)
	}
	report := func(codes ...wire.FaultCode) {
		seq++
		ev := &wire.Event{Header: header("b1"), Device: "lane1", Since: clk.Now()}
		ev.Header.Type = wire.TypeEvent
		for _, c := range codes {
			ev.Faults = append(ev.Faults, wire.NewFault(c, ""))
		}
		ev.State = wire.StateOf(ev.Faults)
		c, _ := eng.Event(ev, clk.Now())
		commit(c)
	}
	minutes := func(n int) {
		for range n {
			clk.Advance(time.Minute)
			commit(eng.Tick())
		}
	}
	presence(wire.PresenceOnline)
	commit(eng.Inventory(&wire.Inventory{Header: header("b1"), StoreInfo: wire.StoreInfo{Name: "Berlin", TimeZone: "Europe/Berlin"},
		Devices: []wire.DeviceInfo{{ID: "lane1", Kind: "receipt_printer", Identity: &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: "X1"}}}}, clk.Now()))
	minutes(30)
	report(wire.FaultPaperJam)
	minutes(2)
	report(wire.FaultPaperJam, wire.FaultCoverOpen)
	minutes(8)
	report() // both clear at 10:10
	minutes(10)
	presence(wire.PresenceOffline)
	minutes(10)
	presence(wire.PresenceOnline)
	minutes(10)

	f := reports.Filter{Tenant: "acme", From: start.Add(-time.Hour), To: start.Add(23 * time.Hour)}
	r, err := reports.Compute(context.Background(), st, f)
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Models) != 1 {
		t.Fatalf("models %+v", r.Models)
	}
	m := r.Models[0]
	// Installed from the inventory 30 minutes before the jam to the end
	// of the period: 23.5 h. One failure of 10 minutes (the two faults
	// overlap); the agent's outage is no failure.
	if m.Name() != "EPSON TM-T88VI" || m.Devices != 1 || m.InstalledHours != 23.5 || m.Failures != 1 ||
		num(m.MTTRHours) != "0.166667" || m.DowntimeHours != 0.166667 {
		t.Errorf("model row %+v, MTTR %s", m, num(m.MTTRHours))
	}
	if r.WeekdayHour[1][10] != 1 {
		t.Errorf("the failure began on Tuesday 10:00 Berlin time: %v", r.WeekdayHour)
	}
	// Three incidents (jam, cover, agent), all recovered by themselves
	// within minutes: every target met.
	so := r.SelfResolved.Overall
	if r.Totals.Incidents != 3 || so.Incidents != 3 || so.SelfResolved != 3 || num(so.Share) != "1" {
		t.Errorf("incidents %d, self-resolved %+v", r.Totals.Incidents, so)
	}
	met := 0
	for _, s := range r.SLA {
		met += s.Response.Met + s.Resolution.Met
		if s.Response.Missed+s.Resolution.Missed+s.Response.Pending+s.Resolution.Pending > 0 {
			t.Errorf("P%d: %+v", s.Priority, s)
		}
	}
	if met != 6 {
		t.Errorf("%d targets met, want 6", met)
	}
	if len(r.Chronic) != 1 || r.Chronic[0].Device != "lane1" || r.Chronic[0].Incidents != 2 {
		t.Errorf("devices %+v", r.Chronic)
	}
}
