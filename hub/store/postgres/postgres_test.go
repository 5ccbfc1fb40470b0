package postgres

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/storetest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

func TestMain(m *testing.M) { os.Exit(testenv.PostgresMain(m)) }

// migrated returns the DSN of a fresh database with this build's schema.
func migrated(t *testing.T) string {
	t.Helper()
	dsn := testenv.PostgresDB(t)
	if _, err := Migrate(context.Background(), dsn, nil); err != nil {
		t.Fatal(err)
	}
	return dsn
}

// openStore opens the store on dsn, closed when the test ends.
func openStore(t *testing.T, dsn string, opt Options) *Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := Open(ctx, dsn, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// The PostgreSQL store passes the suite every store passes.
func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) storetest.Opener {
		dsn := migrated(t)
		return func(t *testing.T) store.Backend { return openStore(t, dsn, Options{}) }
	})
}
