package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/storetest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// PostgreSQL restarts (a crash-like immediate stop, twice) while a writer
// commits as fast as it can: the commits in flight pause and carry on, none
// fails, and afterwards every change set is stored exactly once, the
// notification stream without a gap or a double.
func TestARestartOfPostgresUnderLoadLosesNothingAndDoublesNothing(t *testing.T) {
	pg := testenv.StartPostgres(t)
	dsn := pg.NewDatabase(t)
	if _, err := Migrate(context.Background(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	st := openStore(t, dsn, Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), RetryMax: 200 * time.Millisecond})
	const commits = 400
	inc := storetest.Incident("INC-000001", "prn1", incident.StateOpen, storetest.T0)
	done := make(chan error, 1)
	progress := make(chan int, commits)
	go func() {
		for i := range commits {
			inc.Version = uint64(i + 1)
			c := incident.Changes{Incidents: []incident.Incident{inc},
				Notifications: []incident.Notification{{Kind: incident.NotifyUpdated, At: storetest.T0, Incident: inc, Text: fmt.Sprint(i)}}}
			for k := range 3 {
				c.Log = append(c.Log, incident.LogEntry{At: storetest.T0.Add(time.Duration(i) * time.Second), Kind: incident.LogState, Detail: fmt.Sprintf("%d/%d", i, k)})
			}
			if err := st.Commit(c); err != nil {
				done <- fmt.Errorf("commit %d: %w", i, err)
				return
			}
			progress <- i
		}
		done <- nil
	}()
	for _, at := range []int{commits / 4, commits / 2} {
		for i := range progress {
			if i >= at {
				break
			}
		}
		if err := pg.Restart(); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "waits and retries") || !strings.Contains(logs.String(), "went through") {
		t.Errorf("no commit waited for the restarts:\n%s", logs.String())
	}
	if n, d := count(t, dsn, `SELECT count(*) FROM event_log`), count(t, dsn, `SELECT count(DISTINCT detail) FROM event_log`); n != 3*commits || d != n {
		t.Errorf("%d event-log entries, %d distinct; want %d of each", n, d, 3*commits)
	}
	ns, err := st.Notifications(0, 2*commits)
	if err != nil {
		t.Fatal(err)
	}
	if len(ns) != commits {
		t.Fatalf("%d notifications, want %d", len(ns), commits)
	}
	for i, n := range ns {
		if n.Seq != uint64(i+1) || n.Text != fmt.Sprint(i) {
			t.Fatalf("notification %d: seq %d text %q", i, n.Seq, n.Text)
		}
	}
	if got, err := st.Incident(inc.ID); err != nil || got.Version != commits {
		t.Errorf("incident version %d (%v), want %d", got.Version, err, commits)
	}
}

// A hub that stops while PostgreSQL is away does not hang: the commit
// waiting for it gives up, and nothing it carried was acknowledged.
func TestCloseEndsACommitWaitingForPostgres(t *testing.T) {
	pg := testenv.StartPostgres(t)
	dsn := pg.NewDatabase(t)
	if _, err := Migrate(context.Background(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	var logs testenv.Buffer
	st := openStore(t, dsn, Options{Log: slog.New(slog.NewTextHandler(&logs, nil)), RetryMax: 100 * time.Millisecond})
	pg.Stop()
	done := make(chan error, 1)
	go func() {
		done <- st.Commit(incident.Changes{Log: []incident.LogEntry{{At: storetest.T0, Kind: incident.LogState}}})
	}()
	testenv.WaitFor(t, 30*time.Second, "the commit to wait", func() bool { return strings.Contains(logs.String(), "waits and retries") })
	st.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Errorf("the waiting commit ended with %v", err)
	}
	if _, err := st.Incidents(store.Filter{}); err == nil {
		t.Error("a closed store answered")
	}
}
