package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
)

// The schema is versioned with goose: migrations/NNNNN_name.sql, each
// applied in its own transaction (PostgreSQL's DDL is transactional, so a
// failed migration leaves the schema as it was, not half-changed), under
// an advisory lock so that two storehub migrate runs do not race.

//go:embed migrations/*.sql
var migrations embed.FS

// versionTable records the applied migrations.
const versionTable = "storehub_schema"

// Errors of a schema the hub cannot run against.
var (
	ErrSchemaOlder = errors.New("the database's storehub schema is older than this storehub: run storehub migrate")
	ErrSchemaNewer = errors.New("the database's storehub schema is newer than this storehub knows: run the storehub that migrated it, or a newer one")
)

// SchemaVersion is the newest migration this build has.
func SchemaVersion() int64 {
	var v int64
	entries, _ := fs.ReadDir(migrations, "migrations")
	for _, e := range entries {
		n, err := strconv.ParseInt(strings.SplitN(e.Name(), "_", 2)[0], 10, 64)
		if err == nil && n > v {
			v = n
		}
	}
	return v
}

// MigrateResult says what Migrate did.
type MigrateResult struct {
	From, To int64   // the schema version before and after
	Applied  []int64 // the migrations applied, in order
}

// Migrate brings the database's schema to this build's version. It refuses
// a database whose schema is newer than the build knows.
func Migrate(ctx context.Context, dsn string, log *slog.Logger) (MigrateResult, error) {
	cfg, err := parseDSN(dsn)
	if err != nil {
		return MigrateResult{}, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return MigrateResult{}, fmt.Errorf("postgres: %w", err)
	}
	defer pool.Close()
	return migrate(ctx, pool, log)
}

func migrate(ctx context.Context, pool *pgxpool.Pool, log *slog.Logger) (MigrateResult, error) {
	var res MigrateResult
	from, err := dbVersion(ctx, pool)
	if err != nil {
		return res, err
	}
	res.From, res.To = from, from
	if from > SchemaVersion() {
		return res, fmt.Errorf("postgres: schema version %d, this storehub knows %d: %w", from, SchemaVersion(), ErrSchemaNewer)
	}
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return res, err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return res, err
	}
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	opts := []goose.ProviderOption{goose.WithTableName(versionTable), goose.WithSessionLocker(locker), goose.WithDisableGlobalRegistry(true)}
	if log != nil {
		opts = append(opts, goose.WithSlog(log))
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, opts...)
	if err != nil {
		return res, fmt.Errorf("postgres: migrations: %w", err)
	}
	results, err := p.Up(ctx)
	for _, r := range results {
		if r.Error == nil {
			res.Applied = append(res.Applied, r.Source.Version)
			res.To = r.Source.Version
		}
	}
	if err != nil {
		return res, fmt.Errorf("postgres: migrate: %w", err)
	}
	return res, nil
}

// dbVersion is the newest migration the database has; 0 for one storehub
// never migrated.
func dbVersion(ctx context.Context, q interface {
	QueryRow(context.Context, string, ...any) pgx.Row
}) (int64, error) {
	var exists bool
	if err := q.QueryRow(ctx, `SELECT to_regclass($1) IS NOT NULL`, versionTable).Scan(&exists); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	if !exists {
		return 0, nil
	}
	var v int64
	if err := q.QueryRow(ctx, `SELECT coalesce(max(version_id), 0) FROM `+versionTable+` WHERE is_applied`).Scan(&v); err != nil {
		return 0, fmt.Errorf("postgres: schema version: %w", err)
	}
	return v, nil
}

// checkSchema refuses a database whose schema is not this build's.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	v, err := dbVersion(ctx, pool)
	if err != nil {
		return err
	}
	switch want := SchemaVersion(); {
	case v > want:
		return fmt.Errorf("postgres: schema version %d, this storehub knows %d: %w", v, want, ErrSchemaNewer)
	case v < want:
		return fmt.Errorf("postgres: schema version %d, this storehub needs %d: %w", v, want, ErrSchemaOlder)
	}
	return nil
}
