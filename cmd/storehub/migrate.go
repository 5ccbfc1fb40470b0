package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/internal/cli"
)

// migrateCmd is `storehub migrate [--from-bolt hub.db [--helpdesk-db
// helpdesk.db]]`: it brings the PostgreSQL store's schema to this build's
// version and, with --from-bolt, copies a stopped bbolt hub's data into it.
func migrateCmd(ctx context.Context, args []string, std cli.Stdio) error {
	stdout, stderr := std.Out, std.Err
	fs := program.Flags("migrate", stderr)
	path := configFlag(fs)
	from := fs.String("from-bolt", "", "copy this bbolt hub's store (its hub.db; the hub must be stopped) into the empty PostgreSQL store")
	desk := fs.String("helpdesk-db", "", "with --from-bolt: the hub's helpdesk outbox file (default: helpdesk.db beside hub.db, if there is one)")
	cfg, err := parseConfig(fs, path, args)
	if err != nil {
		return err
	}
	sc := cfg.Store
	if sc.Type != store.TypePostgres {
		return fmt.Errorf("migrate: %s: store.type is %s; migrate works on a postgres store (store: {type: postgres, dsn: ...})", *path, sc.Type)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	res, err := postgres.Migrate(ctx, sc.DSN, log)
	if err != nil {
		return err
	}
	if len(res.Applied) == 0 {
		fmt.Fprintf(stdout, "schema: version %d, up to date\n", res.To)
	} else {
		fmt.Fprintf(stdout, "schema: version %d -> %d (applied %v)\n", res.From, res.To, res.Applied)
	}
	if *from == "" {
		return nil
	}
	return copyBolt(ctx, sc.DSN, *from, *desk, stdout)
}

func copyBolt(ctx context.Context, dsn, from, desk string, stdout io.Writer) error {
	if _, err := os.Stat(from); err != nil {
		return fmt.Errorf("migrate: --from-bolt: %w", err) // OpenBolt would create an empty file
	}
	src, err := store.OpenBolt(from)
	if err != nil {
		return fmt.Errorf("migrate: %w (is the hub still running?)", err)
	}
	defer src.Close()
	var outbox helpdesk.Records
	if desk == "" {
		if p := filepath.Join(filepath.Dir(from), "helpdesk.db"); exists(p) {
			desk = p
		}
	}
	if desk != "" {
		if !exists(desk) {
			return fmt.Errorf("migrate: --helpdesk-db %s: no such file", desk)
		}
		if outbox, err = helpdesk.OpenBoltRecords(desk); err != nil {
			return fmt.Errorf("migrate: helpdesk outbox %s: %w", desk, err)
		}
		defer outbox.Close()
	}
	dst, err := postgres.Open(ctx, dsn, postgres.Options{})
	if err != nil {
		return err
	}
	defer dst.Close()
	n, err := dst.CopyFromBolt(ctx, src, outbox)
	if errors.Is(err, postgres.ErrNotEmpty) {
		return fmt.Errorf("migrate: %w", err)
	}
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", from, err)
	}
	fmt.Fprintf(stdout, "copied %s: %d incidents, %d timeline entries, %d notifications, %d cursors, %d event-log entries, "+
		"%d stores, %d agents, %d devices, %d maintenance windows, %d episodes, %d installs, %d audit entries\n",
		from, n.Incidents, n.Timeline, n.Notifications, n.Cursors, n.Log, n.Stores, n.Agents, n.Devices, n.Windows, n.Episodes, n.Installs, n.Audit)
	if desk != "" {
		fmt.Fprintf(stdout, "copied %s: %d tickets, %d queued calls, %d dead letters\n", desk, n.HelpdeskTickets, n.HelpdeskCalls, n.HelpdeskDeadLetters)
	}
	return nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
