package hub

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
)

// StoreConfig decodes and checks the store: section (bolt without one).
func StoreConfig(cfg *config.Hub) (store.Config, error) {
	sc, err := store.LoadConfig(cfg.Store)
	if err != nil {
		return sc, err
	}
	if sc.Type == store.TypePostgres {
		if err := postgres.CheckDSN(sc.DSN); err != nil {
			return sc, cfg.Store.Errors(config.Errors{{Path: "dsn", Msg: err.Error()}})
		}
	}
	return sc, nil
}

// BoltPath is where the bolt store's file lives.
func BoltPath(cfg *config.Hub) string { return filepath.Join(cfg.DataDir, "hub.db") }

// openStore opens the configured store and, on PostgreSQL, the helpdesk
// outbox's records beside it (nil: the outbox keeps its own bbolt file).
// When ctx ends, a commit waiting for PostgreSQL to come back gives up, so
// that a hub can stop during an outage.
func openStore(ctx context.Context, cfg *config.Hub, log *slog.Logger) (store.Backend, helpdesk.Records, error) {
	sc, err := StoreConfig(cfg)
	if err != nil {
		return nil, nil, err
	}
	if sc.Type == store.TypePostgres {
		pg, err := postgres.Open(ctx, sc.DSN, postgres.Options{Log: log.With("part", "store"), Context: ctx})
		if err != nil {
			return nil, nil, fmt.Errorf("store: %w", err)
		}
		return pg, pg.HelpdeskRecords(), nil
	}
	st, err := store.OpenBolt(BoltPath(cfg))
	return st, nil, err
}
