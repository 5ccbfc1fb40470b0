package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/hub/store/storetest"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// boltHub writes a stopped bbolt hub's data: incidents opened, resolved and
// commented on, the event log with episodes and a chronic problem, device
// swaps, the audit trail, a connector's cursor and a helpdesk outbox.
func boltHub(t *testing.T, dir string) {
	st, err := store.OpenBolt(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	clk := clock.NewFake(storetest.T0)
	r := storetest.NewRunner(t, st, clk)
	seq := uint64(0)
	for round := range 6 { // paper jams come back: a chronic problem
		for _, dev := range []string{"prn1", "prn2", "scale1"} {
			seq++
			r.Event(seq, dev, wire.FaultPaperJam)
		}
		r.Advance(10 * time.Minute)
		for _, dev := range []string{"prn1", "prn2", "scale1"} {
			seq++
			if round%2 == 0 || dev != "prn2" {
				r.Event(seq, dev)
			}
		}
		r.Advance(10 * time.Minute)
	}
	live, _ := st.Incidents(store.Filter{Live: true})
	if len(live) == 0 {
		t.Fatal("the scenario left nothing live")
	}
	if err := st.AppendTimeline(incident.Entry{Incident: live[0].ID, At: clk.Now(), Kind: incident.EntryComment, Author: "ann", Text: "technician called"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.AppendAudit(store.AuditEntry{At: clk.Now(), Event: store.AuditRequest, ID: "q1", Who: "ann", Tenant: "acme", Store: "s1", Device: "prn1", Op: "status"}); err != nil {
		t.Fatal(err)
	}
	if err := st.SetCursor("helpdesk", 3); err != nil {
		t.Fatal(err)
	}
	out, err := helpdesk.OpenBoltRecords(filepath.Join(dir, "helpdesk.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	err = out.Update(func(tx helpdesk.RecordsTx) error {
		seq, _ := tx.NextCallSeq()
		call := helpdesk.QueuedCall{Seq: seq, Ticket: live[0].Key + "#1", Enqueued: clk.Now(), Next: clk.Now(),
			Notification: helpdesk.Delivery{Kind: tickets.Updated, Occurrence: "1", Incident: tickets.Brief{Key: live[0].Key}}}
		info := helpdesk.TicketInfo{Key: call.Ticket, IncidentKey: live[0].Key, Occurrence: "1", ExternalID: "sw-1",
			Route: helpdesk.Destination{Helpdesk: "redmine"}, Ticket: helpdesk.Ticket{ID: "4711"}, Created: clk.Now()}
		return errorsJoin(tx.Tickets().Put(info.Key, &info), tx.Calls().Put(seq, &call))
	})
	if err != nil {
		t.Fatal(err)
	}
}

func errorsJoin(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// content is what a hub shows of its store, as JSON: the incidents with
// their timelines, the notification stream, the event log, the records the
// engine restarts from, the install history, the audit trail, fault counts
// and a report.
func content(t *testing.T, st store.Backend) map[string]string {
	t.Helper()
	out := map[string]string{}
	put := func(name string, v any, err error) {
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		b, _ := json.Marshal(v)
		out[name] = string(b)
	}
	incs, err := st.Incidents(store.Filter{})
	put("incidents", incs, err)
	for _, inc := range incs {
		tl, err := st.Timeline(inc.ID)
		put("timeline "+inc.ID, tl, err)
	}
	ns, err := st.Notifications(0, 10000)
	put("notifications", ns, err)
	cur, err := st.Cursor("helpdesk")
	put("cursor", cur, err)
	log, err := st.Log(storetest.T0.Add(-time.Hour), storetest.T0.Add(24*time.Hour), 10000)
	put("log", log, err)
	snap, err := st.Snapshot(7*24*time.Hour, storetest.T0.Add(3*time.Hour))
	put("snapshot", snap, err)
	var ins []store.Install
	put("installs", &ins, st.ScanInstalls("", "", func(in store.Install) error { ins = append(ins, in); return nil }))
	audit, err := st.Audit(store.AuditFilter{})
	put("audit", audit, err)
	fc, err := st.FaultCounts(store.FaultQuery{Key: incident.Fingerprint("acme", "s1", "prn1", wire.FaultPaperJam), Tenant: "acme",
		Fault: wire.FaultPaperJam, From: storetest.T0.Add(-time.Hour), To: storetest.T0.Add(24 * time.Hour)})
	put("fault counts", fc, err)
	f, err := reports.ParseFilter(url.Values{"from": {"2026-11-24"}, "to": {"2026-11-25"}}, storetest.T0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := reports.Compute(context.Background(), st, f)
	put("report", rep, err)
	return out
}

// A bbolt hub's data, copied into PostgreSQL by storehub migrate
// --from-bolt, is the same hub: the same incidents, timelines, log and
// reports, and the PostgreSQL hub carries on numbering where it left off.
func TestMigrateFromBoltCopiesTheHub(t *testing.T) {
	dir := t.TempDir()
	boltHub(t, dir)
	dsn := testenv.PostgresDB(t)
	t.Setenv("STOREHUB_PG_DSN", dsn)
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+dir+"\nstore:\n  type: postgres\n  dsn: ${STOREHUB_PG_DSN}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--config", cfgPath, "--from-bolt", filepath.Join(dir, "hub.db")}, nil, &stdout, &stderr); code != 0 {
		t.Fatalf("migrate: exit %d: %s", code, stderr.String())
	}
	for _, want := range []string{"schema: version 0 -> ", "incidents", "copied " + filepath.Join(dir, "helpdesk.db") + ": 1 tickets, 1 queued calls, 0 dead letters"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("migrate said %q, without %q", stdout.String(), want)
		}
	}
	if pw := strings.Split(strings.Split(dsn, "@")[0], ":")[2]; strings.Contains(stdout.String()+stderr.String(), pw) {
		t.Errorf("migrate printed the DSN's password")
	}

	src, err := store.OpenBolt(filepath.Join(dir, "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	want := content(t, src)
	src.Close()
	var rep reports.Report
	if err := json.Unmarshal([]byte(want["report"]), &rep); err != nil || rep.Totals.Failures == 0 || rep.Totals.Devices != 3 || len(rep.Chronic) == 0 {
		t.Fatalf("the scenario's report is too thin to compare: %v %+v", err, rep.Totals)
	}
	dst, err := postgres.Open(context.Background(), dsn, postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	got := content(t, dst)
	for name, w := range want {
		if got[name] != w {
			t.Errorf("%s differs after the copy:\n bolt %s\n   pg %s", name, w, got[name])
		}
	}
	var ticket helpdesk.TicketInfo
	err = dst.HelpdeskRecords().View(func(tx helpdesk.RecordsTx) error {
		rec, err := tx.Tickets().Get(firstLiveKey(t, dst) + "#1")
		if rec != nil {
			ticket = *rec
		}
		return err
	})
	if err != nil || ticket.Ticket.ID != "4711" {
		t.Errorf("the outbox's ticket record: %+v %v", ticket, err)
	}

	// The hub on PostgreSQL goes on from there: new incidents and
	// notifications are numbered after the copied ones.
	before, _ := dst.Notifications(0, 10000)
	snap, _ := dst.Snapshot(7*24*time.Hour, storetest.T0.Add(3*time.Hour))
	clk := clock.NewFake(storetest.T0.Add(3 * time.Hour))
	r := storetest.NewRunner(t, dst, clk)
	r.Event(1000, "prn9", wire.FaultPaperJam)
	r.Advance(10 * time.Minute)
	after, _ := dst.Notifications(before[len(before)-1].Seq, 0)
	if len(after) == 0 || after[0].Seq != before[len(before)-1].Seq+1 || store.IncidentNumber(after[0].Incident.ID) != snap.LastID+1 {
		t.Errorf("after the copy: notifications %+v, last id was %d", after, snap.LastID)
	}

	// A second copy into the same database is refused.
	stdout.Reset()
	stderr.Reset()
	if code := run(context.Background(), []string{"migrate", "--config", cfgPath, "--from-bolt", filepath.Join(dir, "hub.db")}, nil, &stdout, &stderr); code != 1 ||
		!strings.Contains(stderr.String(), "already holds a hub's data") {
		t.Errorf("a second copy: exit %d, %s", code, stderr.String())
	}
}

func firstLiveKey(t *testing.T, st store.Store) string {
	live, err := st.Incidents(store.Filter{Live: true})
	if err != nil || len(live) == 0 {
		t.Fatalf("live incidents: %v %v", live, err)
	}
	return live[0].Key
}

// migrate works on a postgres store only, and says so.
func TestMigrateNeedsAPostgresStore(t *testing.T) {
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "hub.yaml")
	if err := os.WriteFile(cfgPath, []byte("data_dir: "+dir+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	if code := run(context.Background(), []string{"migrate", "--config", cfgPath}, nil, &stdout, &stderr); code != 1 || !strings.Contains(stderr.String(), "store.type is bolt") {
		t.Errorf("exit %d: %s", code, stderr.String())
	}
}
