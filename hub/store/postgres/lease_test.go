package postgres

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/hub/store"
)

// The leases in PostgreSQL: one holder at a time, a new epoch at every
// change of holder, takeover only after expiry (by the database's clock),
// and a lost lease neither renewed nor able to commit.
func TestLeases(t *testing.T) {
	ctx := context.Background()
	dsn := migrated(t)
	a, b := openStore(t, dsn, Options{}).Leases(), openStore(t, dsn, Options{}).Leases()

	la, ok, err := a.Acquire(ctx, 3, "a", 2*time.Second)
	if err != nil || !ok || la.Epoch != 1 {
		t.Fatalf("a takes a free partition: %+v %v %v", la, ok, err)
	}
	if _, ok, err := b.Acquire(ctx, 3, "b", 2*time.Second); err != nil || ok {
		t.Fatalf("b takes a held partition: ok %v, %v", ok, err)
	}
	if la, err = a.Renew(ctx, la, 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	h, err := b.Holders(ctx)
	if err != nil || h[3] != "a" {
		t.Fatalf("holders %v, %v", h, err)
	}
	var lb cluster.Lease
	ok = false
	deadline := time.Now().Add(10 * time.Second)
	for !ok && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		if lb, ok, err = b.Acquire(ctx, 3, "b", time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if !ok || lb.Epoch != 2 {
		t.Fatalf("b after a's lease ended: %+v ok %v", lb, ok)
	}
	if _, err := a.Renew(ctx, la, time.Minute); !errors.Is(err, cluster.ErrLost) {
		t.Errorf("a renews a lease b took: %v", err)
	}
	if err := a.Release(ctx, la); err != nil {
		t.Fatal(err)
	}
	if h, _ := a.Holders(ctx); h[3] != "b" {
		t.Errorf("a's stale release freed b's lease: %v", h)
	}
	// A restarted b (same name) takes its own lease back at once, with a new
	// epoch that fences the old incarnation.
	lb2, ok, err := b.Acquire(ctx, 3, "b", time.Minute)
	if err != nil || !ok || lb2.Epoch != 3 {
		t.Fatalf("b again: %+v %v %v", lb2, ok, err)
	}
	if err := b.Release(ctx, lb2); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := a.Acquire(ctx, 3, "a", time.Minute); !ok {
		t.Error("a released lease is not free at once")
	}

	if err := a.Heartbeat(ctx, cluster.Member{Replica: "a", APIURL: "http://a"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.Heartbeat(ctx, cluster.Member{Replica: "b"}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := b.Leave(ctx, "b"); err != nil {
		t.Fatal(err)
	}
	if m, err := a.Members(ctx); err != nil || len(m) != 1 || m[0] != (cluster.Member{Replica: "a", APIURL: "http://a"}) {
		t.Errorf("members %+v, %v", m, err)
	}
}

// A commit fenced by a lease that moved on stores nothing; one with the
// current lease is stored.
func TestCommitFenced(t *testing.T) {
	ctx := context.Background()
	dsn := migrated(t)
	st := openStore(t, dsn, Options{})
	old, _, err := st.Leases().Acquire(ctx, 0, "a", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	cur, ok, err := st.Leases().Acquire(ctx, 0, "a", time.Minute) // a restarted a
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	c := opening(t, 0, "pt-1")
	err = st.CommitFenced(c, Fence{Partition: 0, Holder: "a", Epoch: old.Epoch})
	if !errors.Is(err, ErrFenced) {
		t.Fatalf("a commit with the old epoch: %v", err)
	}
	if incs, err := st.Incidents(store.Filter{}); err != nil || len(incs) != 0 {
		t.Fatalf("the fenced commit stored %d incidents (%v)", len(incs), err)
	}
	if err := st.CommitFenced(c, Fence{Partition: 0, Holder: "a", Epoch: cur.Epoch}); err != nil {
		t.Fatal(err)
	}
	if incs, err := st.Incidents(store.Filter{}); err != nil || len(incs) != 1 {
		t.Fatalf("the current lease's commit stored %d incidents (%v)", len(incs), err)
	}
}

// With Listen, a store's Notified follows the commits of another store on
// the same database (another replica's).
func TestListenWakesOnOtherReplicasCommits(t *testing.T) {
	dsn := migrated(t)
	writer, reader := openStore(t, dsn, Options{}), openStore(t, dsn, Options{Listen: true})
	// Wait until the reader listens (its session's last statement).
	deadline := time.Now().Add(30 * time.Second)
	for {
		var n int
		if err := writer.pool.QueryRow(context.Background(),
			`SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND query = 'LISTEN '||$1`, notifyChannel).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n == 1 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the reader does not listen")
		}
		time.Sleep(20 * time.Millisecond)
	}
	w := reader.Notified()
	if err := writer.Commit(opening(t, 0, "pt-listen")); err != nil {
		t.Fatal(err)
	}
	select {
	case <-w:
	case <-time.After(30 * time.Second):
		t.Fatal("the other store's commit did not wake Notified")
	}
	if n, err := reader.Notifications(0, 10); err != nil || len(n) == 0 {
		t.Fatalf("woken, but no notification to read: %v", err)
	}
}
