package hub

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
)

// BoltPath is where the bolt store's file lives.
func BoltPath(cfg *Config) string { return filepath.Join(cfg.DataDir, "hub.db") }

// openStore opens the configured store and, on PostgreSQL, the helpdesk
// outbox's records beside it (nil: the outbox keeps its own bbolt file).
// When ctx ends, a commit waiting for PostgreSQL to come back gives up, so
// that a hub can stop during an outage.
func openStore(ctx context.Context, cfg *Config, log *slog.Logger) (store.Backend, helpdesk.Records, error) {
	sc := cfg.Store
	if sc.Type == store.TypePostgres {
		pg, err := postgres.Open(ctx, sc.DSN, postgres.Options{Log: log.With("part", "store"), Context: ctx,
			Listen: cfg.Cluster != nil})
		if err != nil {
			return nil, nil, fmt.Errorf("store: %w", err)
		}
		return pg, pg.HelpdeskRecords(), nil
	}
	st, err := store.OpenBolt(BoltPath(cfg))
	return st, nil, err
}
