package postgres

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/storetest"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// The benchmarks run PostgreSQL with fsync on, as a production server
// does, on this machine's disk, beside bbolt (which syncs every commit) in
// the same run. docs/benchmarks.md has the figures and the command.

func durablePostgres(b *testing.B) *Store {
	pg := testenv.StartPostgres(b, "fsync=on", "full_page_writes=on", "shared_buffers=128MB")
	dsn := pg.NewDatabase(b)
	if _, err := Migrate(context.Background(), dsn, nil); err != nil {
		b.Fatal(err)
	}
	st, err := Open(context.Background(), dsn, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

func benchBolt(b *testing.B) store.Backend {
	st, err := store.OpenBolt(filepath.Join(b.TempDir(), "hub.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	return st
}

// stateChanges is the change set ingest commits for n device state
// changes in one batch: each device's record and an event-log entry, and
// the agent's record.
func stateChanges(i, n int) incident.Changes {
	var c incident.Changes
	at := storetest.T0.Add(time.Duration(i) * time.Second)
	for k := range n {
		d := storetest.Device(fmt.Sprintf("s%04d", k%500), fmt.Sprintf("prn%d", k), "TM-T88VI")
		state := wire.StateOK
		if i%2 == 1 {
			state = wire.StateDegraded
		}
		d.State, d.Reported, d.Since, d.Updated, d.LastSeq = state, state, at, at, uint64(i)
		c.Devices = append(c.Devices, d)
		c.Log = append(c.Log, incident.LogEntry{At: at, Kind: incident.LogState, Tenant: "acme", Store: d.Store, Agent: "a1", Device: d.ID,
			DevKind: d.Kind, Vendor: "EPSON", Model: "TM-T88VI", State: string(d.State)})
	}
	c.Agents = []incident.AgentRecord{{Tenant: "acme", Store: "s0000", Agent: "a1", Online: true, Boot: "b1", LastSeen: at}}
	return c
}

// BenchmarkCommit: commits of ingest's change sets, one device state
// change each (the latency of a quiet hub) and 500 per commit (a burst:
// ingest batches up to 2048 messages).
func BenchmarkCommit(b *testing.B) {
	for _, backend := range []struct {
		name string
		open func(*testing.B) store.Backend
	}{{"bolt", benchBolt}, {"postgres", func(b *testing.B) store.Backend { return durablePostgres(b) }}} {
		for _, size := range []int{1, 500} {
			b.Run(fmt.Sprintf("%s/changes=%d", backend.name, size), func(b *testing.B) {
				st := backend.open(b)
				i := 0
				for b.Loop() {
					if err := st.Commit(stateChanges(i, size)); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.ReportMetric(float64(i*size)/b.Elapsed().Seconds(), "changes/s")
			})
		}
	}
}

// BenchmarkFootprint writes a fleet's month through the real engine
// (devices that fail and recover: incidents with their timelines and
// notifications, the event log) and reports PostgreSQL's bytes per
// incident and per event-log entry (pg_total_relation_size: table, TOAST
// and indexes) and for all its tables, as written and after VACUUM FULL,
// beside the bbolt file's size for the same data. Run it with
// -benchtime=1x.
func BenchmarkFootprint(b *testing.B) {
	devices := 2000
	if s := os.Getenv("FOOTPRINT_DEVICES"); s != "" {
		fmt.Sscan(s, &devices)
	}
	pgst := durablePostgres(b)
	bst := benchBolt(b)
	for b.Loop() {
	}
	for _, st := range []store.Store{pgst, bst} {
		clk := clock.NewFake(storetest.T0)
		r := storetest.NewRunner(b, st, clk)
		seq := uint64(0)
		// Each device fails twice (one incident each) and reports state
		// changes in between.
		for round := range 2 {
			var c incident.Changes
			for d := range devices {
				seq++
				ch, _ := r.Eng.Event(fleetEvent(seq, clk.Now(), d, wire.FaultPaperJam), clk.Now())
				c.Merge(ch)
			}
			r.Commit(c)
			r.Advance(10 * time.Minute)
			c = incident.Changes{}
			for d := range devices {
				seq++
				ch, _ := r.Eng.Event(fleetEvent(seq, clk.Now(), d), clk.Now())
				c.Merge(ch)
			}
			r.Commit(c)
			r.Advance(10 * time.Minute)
			clk.Advance(time.Duration(round+1) * 24 * time.Hour)
			r.Commit(r.Eng.Tick())
		}
	}
	ctx := context.Background()
	conn, err := pgst.pool.Acquire(ctx)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Release()
	size := func(sql string) float64 {
		var v float64
		if err := conn.QueryRow(ctx, sql).Scan(&v); err != nil {
			b.Fatal(err)
		}
		return v
	}
	incidents := size(`SELECT count(*) FROM incidents`)
	logs := size(`SELECT count(*) FROM event_log`)
	report := func(when string) {
		inc := size(`SELECT pg_total_relation_size('incidents')`)
		all := inc + size(`SELECT pg_total_relation_size('timeline') + pg_total_relation_size('notifications')`)
		b.ReportMetric(inc/incidents, "B/incident-row-"+when)
		b.ReportMetric(all/incidents, "B/incident-with-timeline-and-notifications-"+when)
		b.ReportMetric(size(`SELECT pg_total_relation_size('event_log')`)/logs, "B/log-entry-"+when)
		b.ReportMetric(size(`SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'`)/1e6, "MB-all-tables-"+when)
	}
	report("written")
	if _, err := conn.Exec(ctx, `VACUUM FULL ANALYZE`, pgx.QueryExecModeSimpleProtocol); err != nil {
		b.Fatal(err)
	}
	report("vacuumed")
	fi, err := os.Stat(bst.(*store.Bolt).Path())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(fi.Size())/1e6, "MB-bolt-file")
	b.ReportMetric(incidents, "incidents")
	b.ReportMetric(logs, "log-entries")
}

func fleetEvent(seq uint64, at time.Time, d int, codes ...wire.FaultCode) *wire.Event {
	ev := storetest.Event(seq, at, fmt.Sprintf("prn%d", d%20), codes...)
	ev.Store = fmt.Sprintf("s%04d", d/20)
	ev.Kind = "receipt_printer"
	ev.Identity = &wire.Identity{Vendor: "EPSON", Model: "TM-T88VI", Serial: fmt.Sprintf("X5E%07d", d), Firmware: "30.01"}
	return ev
}
