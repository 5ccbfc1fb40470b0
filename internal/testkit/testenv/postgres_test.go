package testenv

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func TestMain(m *testing.M) { os.Exit(PostgresMain(m)) }

func query(t *testing.T, dsn, sql string) int {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(ctx)
	var n int
	if err := c.QueryRow(ctx, sql).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// A test's own server keeps its data across a crash-like stop and a start,
// on the same port.
func TestPostgresSurvivesAnImmediateStop(t *testing.T) {
	pg := StartPostgres(t)
	dsn := pg.NewDatabase(t)
	query(t, dsn, "SELECT 1 FROM (SELECT 1) x")
	c, err := pgx.Connect(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Exec(context.Background(), "CREATE TABLE kept (n int); INSERT INTO kept VALUES (1), (2)"); err != nil {
		t.Fatal(err)
	}
	c.Close(context.Background())
	pg.Stop()
	if _, err := pgx.Connect(context.Background(), dsn); err == nil {
		t.Fatal("a stopped server accepts connections")
	}
	if err := pg.Start(); err != nil {
		t.Fatal(err)
	}
	if n := query(t, dsn, "SELECT count(*) FROM kept"); n != 2 {
		t.Errorf("%d rows after the restart, want 2", n)
	}
}

// Tests on the shared server get a database each.
func TestPostgresDBIsFreshForEachTest(t *testing.T) {
	a, b := PostgresDB(t), PostgresDB(t)
	if a == b {
		t.Fatal("one database twice")
	}
	if n := query(t, a, "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"); n != 0 {
		t.Errorf("%d tables in a fresh database", n)
	}
}
