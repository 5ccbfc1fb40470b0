package main

import (
	"context"
	"log/slog"
	"os"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
)

func serve(ctx context.Context, args []string, std cli.Stdio) error {
	stderr := std.Err
	fs := program.Flags("serve", stderr)
	path := configFlag(fs)
	cfg, err := parseConfig(fs, path, args)
	if err != nil {
		return err
	}
	level := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}[cfg.Log.Level]
	opts := &slog.HandlerOptions{Level: level}
	var log *slog.Logger
	if cfg.Log.Format == "json" {
		log = slog.New(slog.NewJSONHandler(stderr, opts))
	} else {
		log = slog.New(slog.NewTextHandler(stderr, opts))
	}
	hub.ApplyMemoryLimit(cfg.MemoryLimit, os.LookupEnv, log)
	// From a terminal until Ctrl-C; under systemd or the Windows service
	// manager until it stops the service, as storeagent run.
	return svc.Run(ctx, hub.ServiceSpec(*path), log, func(ctx context.Context) error {
		h, err := hub.Start(ctx, cfg, log)
		if err != nil {
			return err
		}
		return h.Wait()
	})
}
