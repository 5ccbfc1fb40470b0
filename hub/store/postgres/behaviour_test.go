package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
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

func exec(t *testing.T, dsn, sql string, args ...any) {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(context.Background(), sql, args...); err != nil {
		t.Fatal(err)
	}
}

func count(t *testing.T, dsn, sql string) int {
	t.Helper()
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	var n int
	if err := c.QueryRow(context.Background(), sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A hub runs only against the schema it was built for: storehub migrate
// brings an older one up; a newer one (a later storehub migrated it) is
// refused, by the hub and by migrate, rather than half understood.
func TestTheHubRunsOnlyOnItsOwnSchema(t *testing.T) {
	ctx := context.Background()
	dsn := testenv.PostgresDB(t)
	if _, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrSchemaOlder) || !strings.Contains(err.Error(), "run storehub migrate") {
		t.Errorf("an empty database: %v", err)
	}
	res, err := Migrate(ctx, dsn, nil)
	if err != nil || res.From != 0 || res.To != SchemaVersion() || len(res.Applied) == 0 {
		t.Fatalf("migrate: %+v %v", res, err)
	}
	if res, err := Migrate(ctx, dsn, nil); err != nil || len(res.Applied) != 0 || res.To != SchemaVersion() {
		t.Errorf("a second migrate: %+v %v", res, err)
	}
	st, err := Open(ctx, dsn, Options{})
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	exec(t, dsn, `INSERT INTO `+versionTable+` (version_id, is_applied) VALUES ($1, true)`, SchemaVersion()+1)
	if _, err := Open(ctx, dsn, Options{}); !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("a newer schema: %v", err)
	}
	if _, err := Migrate(ctx, dsn, nil); !errors.Is(err, ErrSchemaNewer) {
		t.Errorf("migrate on a newer schema: %v", err)
	}
}

// The DSN usually holds a password: no error repeats it.
func TestTheDSNNeverShowsInErrors(t *testing.T) {
	pw := "s3cret-Pa55word"
	for _, dsn := range []string{
		"postgres://storehub:" + pw + "@127.0.0.1:1/hub?sslmode=disable&connect_timeout=2", // nothing listens
		"postgres://storehub:" + pw + "@127.0.0.1:99999/hub",                               // no such port
		"host=127.0.0.1 password=" + pw + " port=notaport",
		"postgres://storehub:" + pw + "@127.0.0.1/hub?pool_max_conns=many",
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		_, err := Open(ctx, dsn, Options{AttemptTimeout: 3 * time.Second})
		cancel()
		if err == nil {
			t.Errorf("opened %q", dsn)
			continue
		}
		if strings.Contains(err.Error(), pw) {
			t.Errorf("the error shows the password: %v", err)
		}
		if err := CheckDSN(dsn); err != nil && strings.Contains(err.Error(), pw) {
			t.Errorf("CheckDSN shows the password: %v", err)
		}
	}
	pg := testenv.SharedPostgres(t)
	if _, err := Open(context.Background(), strings.Replace(pg.DSN("postgres"), pg.Password(), "wrong-"+pw, 1), Options{}); err == nil ||
		strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), pg.Password()) {
		t.Errorf("a wrong password: %v", err)
	}
}

// opening returns the change set with which a fresh engine opens an
// incident for a payment terminal's hardware fault, numbering from lastID.
func opening(t *testing.T, lastID uint64, dev string) incident.Changes {
	clk := clock.NewFake(storetest.T0)
	eng := incident.New(incident.Config{Policy: incident.DefaultPolicy(), Clock: clk})
	eng.Restore(incident.Snapshot{LastID: lastID})
	c, _ := eng.Event(storetest.Event(1, clk.Now(), dev, wire.FaultPTHardware), clk.Now())
	clk.Advance(10 * time.Minute)
	c.Merge(eng.Tick())
	if len(c.Incidents) == 0 || !c.Incidents[len(c.Incidents)-1].State.Live() {
		t.Fatalf("no incident opened for %s: %+v", dev, c.Incidents)
	}
	return c
}

// Two engines (two replicas, each with its own pool) that both decide to
// open an incident for the same fingerprint at the same moment produce one:
// the unique index refuses the second commit whole, which says
// store.ErrConflict.
func TestTwoEnginesRacingToOpenOneIncidentProduceOne(t *testing.T) {
	dsn := migrated(t)
	a, b := openStore(t, dsn, Options{}), openStore(t, dsn, Options{})
	const devices = 40
	var mu sync.Mutex
	won := map[string]int{}
	conflicts := 0
	for i := range devices {
		dev := fmt.Sprintf("pt-%d", i)
		// Different id ranges, as replicas would hand out: the fingerprint,
		// not the id, is what collides.
		ca, cb := opening(t, uint64(10*i), dev), opening(t, uint64(1_000_000+10*i), dev)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for name, job := range map[string]struct {
			st *Store
			c  incident.Changes
		}{"a": {a, ca}, "b": {b, cb}} {
			wg.Go(func() {
				<-start
				err := job.st.Commit(job.c)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					won[dev+"/"+name]++
				case errors.Is(err, store.ErrConflict):
					conflicts++
				default:
					t.Errorf("%s %s: %v", name, dev, err)
				}
			})
		}
		close(start)
		wg.Wait()
	}
	live, err := a.Incidents(store.Filter{Live: true, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	perKey := map[string]int{}
	for _, inc := range live {
		perKey[inc.Key]++
	}
	if len(live) != devices || len(perKey) != devices || conflicts != devices || len(won) != devices {
		t.Errorf("%d live incidents for %d fingerprints, %d commits won, %d conflicts; want %d of each", len(live), len(perKey), len(won), conflicts, devices)
	}
	// The loser stored nothing: one timeline and one notification each.
	if n := count(t, dsn, `SELECT count(*) FROM notifications`); n != devices {
		t.Errorf("%d notifications, want %d", n, devices)
	}
	if n := count(t, dsn, `SELECT count(*) FROM event_log WHERE kind = 'incident'`); n != devices {
		t.Errorf("%d incident log entries, want %d", n, devices)
	}
	// An id that already names another fingerprint is refused too.
	taken := live[0]
	taken.Key, taken.State = "acme/s1/elsewhere/pt_hardware_fault", incident.StateResolved
	if err := a.Commit(incident.Changes{Incidents: []incident.Incident{taken}}); !errors.Is(err, store.ErrConflict) {
		t.Errorf("an id reused for another fingerprint: %v", err)
	}
}

// A commit whose answer was lost is tried again with the same token and
// finds itself stored: nothing twice.
func TestACommitTriedAgainIsStoredOnce(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	c := opening(t, 0, "pt-1")
	rows, err := prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	tok := token()
	ctx := context.Background()
	for i := range 3 {
		if err := st.commitOnce(ctx, tok, i > 0, nil, &c, rows); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	ns, _ := st.Notifications(0, 0)
	tl, _ := st.Timeline(c.Incidents[0].ID)
	logs, _ := st.Log(storetest.T0.Add(-time.Hour), storetest.T0.Add(time.Hour), 0)
	if len(ns) != len(c.Notifications) || len(tl) != len(c.Timeline) || len(logs) != len(c.Log) {
		t.Errorf("stored %d notifications, %d timeline entries, %d log entries; the change set has %d, %d, %d",
			len(ns), len(tl), len(logs), len(c.Notifications), len(c.Timeline), len(c.Log))
	}
}

// PostgreSQL text holds no NUL, which a device may well send in its
// identity: the commit goes through with U+FFFD in its place, instead of
// stopping the hub.
func TestANulInADevicesStringsIsStored(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	d := storetest.Device("s1", "prn\x00", "TM\x00T88")
	l := incident.LogEntry{At: storetest.T0, Kind: incident.LogState, Tenant: "acme", Store: "s1", Device: "prn\x00", Model: "TM\x00T88", Detail: "bad \xff byte"}
	if err := st.Commit(incident.Changes{Devices: []incident.DeviceRecord{d}, Log: []incident.LogEntry{l}}); err != nil {
		t.Fatal(err)
	}
	snap, err := st.Snapshot(time.Hour, storetest.T0)
	if err != nil || len(snap.Devices) != 1 || snap.Devices[0].Identity.Model != "TM\uFFFDT88" {
		t.Errorf("device %v %+v", err, snap.Devices)
	}
	logs, _ := st.Log(storetest.T0, storetest.T0.Add(time.Second), 0)
	if len(logs) != 1 || logs[0].Device != "prn\uFFFD" || logs[0].Detail != "bad \uFFFD byte" {
		t.Errorf("log %+v", logs)
	}
}

// Every attempt of a commit starts from the same change set: a ticket link
// applied by an attempt that failed is not applied twice by the next.
func TestEveryAttemptOfACommitStartsAfresh(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	inc := storetest.Incident("INC-000001", "prn1", incident.StateResolved, storetest.T0)
	inc.Version = 4
	c := incident.Changes{Incidents: []incident.Incident{inc},
		Tickets: []incident.TicketLink{{Incident: inc.ID, Ticket: incident.HelpdeskTicket{Helpdesk: "redmine", ID: "7", Linked: storetest.T0}}}}
	rows, err := prepare(&c)
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // as two attempts that each got as far as the database
		if err := st.commitOnce(context.Background(), token(), false, nil, &c, rows); err != nil {
			t.Fatal(err)
		}
	}
	if got, err := st.Incident(inc.ID); err != nil || got.Version != 5 || got.Helpdesk == nil || got.Helpdesk.ID != "7" {
		t.Errorf("incident after the attempts: version %d, helpdesk %+v (%v); want version 5", got.Version, got.Helpdesk, err)
	}
}

// A replica's remote query looks its device up by store, in every tenant
// when only the store is named, and reads one agent and one store by key.
func TestLookUpsByStoreAndAgent(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	dev := func(tenant, store, id string) incident.DeviceRecord {
		return incident.DeviceRecord{Tenant: tenant, Store: store, Agent: "pos", ID: id}
	}
	ch := incident.Changes{
		Devices: []incident.DeviceRecord{dev("beta", "s1", "scale-1"), dev("acme", "s1", "scale-1"), dev("acme", "s1", "receipt-1"), dev("acme", "s2", "receipt-1")},
		Agents:  []incident.AgentRecord{{Tenant: "acme", Store: "s1", Agent: "pos", Online: true}},
		Stores:  []incident.StoreRecord{{Tenant: "acme", Store: "s1", Info: wire.StoreInfo{TimeZone: "Europe/Berlin"}}},
	}
	if err := st.Commit(ch); err != nil {
		t.Fatal(err)
	}
	ids := func(ds []incident.DeviceRecord) string {
		var out []string
		for _, d := range ds {
			out = append(out, d.Tenant+"/"+d.Store+"/"+d.ID)
		}
		return strings.Join(out, " ")
	}
	for _, c := range []struct{ tenant, store, want string }{
		{"", "s1", "acme/s1/receipt-1 acme/s1/scale-1 beta/s1/scale-1"},
		{"acme", "s1", "acme/s1/receipt-1 acme/s1/scale-1"},
		{"beta", "s2", ""},
	} {
		got, err := st.StoreDevices(c.tenant, c.store)
		if err != nil || ids(got) != c.want {
			t.Errorf("StoreDevices(%q, %q) = %q, %v; want %q", c.tenant, c.store, ids(got), err, c.want)
		}
	}
	if a, ok, err := st.Agent(wire.AgentID{Tenant: "acme", Store: "s1", Agent: "pos"}); err != nil || !ok || !a.Online {
		t.Errorf("Agent = %+v, %v, %v", a, ok, err)
	}
	if _, ok, err := st.Agent(wire.AgentID{Tenant: "beta", Store: "s1", Agent: "pos"}); err != nil || ok {
		t.Errorf("an agent never seen: %v, %v", ok, err)
	}
	if s, ok, err := st.StoreRecord("acme", "s1"); err != nil || !ok || s.Info.TimeZone != "Europe/Berlin" {
		t.Errorf("StoreRecord = %+v, %v, %v", s, ok, err)
	}
	if _, ok, err := st.StoreRecord("acme", "s9"); err != nil || ok {
		t.Errorf("a store never seen: %v, %v", ok, err)
	}
}

// A partition's engine is restored with its own stores' records only: the
// others' are not even decoded.
func TestSnapshotOfOnePartitionsStores(t *testing.T) {
	st := openStore(t, migrated(t), Options{})
	ch := incident.Changes{
		Devices: []incident.DeviceRecord{{Tenant: "acme", Store: "s1", Agent: "pos", ID: "scale-1"}, {Tenant: "acme", Store: "s2", Agent: "pos", ID: "receipt-1"},
			{Tenant: "beta", Store: "s1", Agent: "pos", ID: "scale-1"}},
		Agents: []incident.AgentRecord{{Tenant: "acme", Store: "s1", Agent: "pos"}, {Tenant: "acme", Store: "s2", Agent: "pos"}},
		Stores: []incident.StoreRecord{{Tenant: "acme", Store: "s1"}, {Tenant: "acme", Store: "s2"}},
	}
	if err := st.Commit(ch); err != nil {
		t.Fatal(err)
	}
	count := func(s incident.Snapshot) string {
		return fmt.Sprintf("%d stores, %d agents, %d devices", len(s.Stores), len(s.Agents), len(s.Devices))
	}
	for _, c := range []struct {
		name string
		mine func(tenant, store string) bool
		want string
	}{
		{"every store", nil, "2 stores, 2 agents, 3 devices"},
		{"acme/s1", func(tenant, store string) bool { return tenant == "acme" && store == "s1" }, "1 stores, 1 agents, 1 devices"},
		{"s1 of every tenant", func(_, store string) bool { return store == "s1" }, "1 stores, 1 agents, 2 devices"},
		{"none", func(string, string) bool { return false }, "0 stores, 0 agents, 0 devices"},
	} {
		snap, err := st.SnapshotOf(time.Hour, time.Now(), c.mine)
		if err != nil {
			t.Fatal(err)
		}
		if got := count(snap); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
