package agent

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/host"
)

// Agent is one running storeagent.
type Agent struct {
	cfg       *config.Agent
	log       *slog.Logger
	collector *collector.Collector
}

// New builds the agent from a loaded configuration. sink receives events and
// samples.
func New(cfg *config.Agent, lines *config.Lines, log *slog.Logger, sink collector.Sink) (*Agent, error) {
	devs, err := BuildDevices(cfg, lines, host.System())
	if err != nil {
		return nil, err
	}
	c := collector.New(devs, sink, collector.Options{
		Grace:          cfg.Polling.Grace,
		SampleInterval: cfg.Telemetry.Interval,
		Logger:         log,
		Jitter:         min(cfg.Polling.Interval, 5e9),
	})
	return &Agent{cfg: cfg, log: log, collector: c}, nil
}

// Collector gives access to device states and on-demand probes.
func (a *Agent) Collector() *collector.Collector { return a.collector }

// Run monitors until ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("storeagent started", "tenant", a.cfg.Tenant, "store", a.cfg.Store, "agent", a.cfg.ID, "devices", len(a.collector.States()))
	err := a.collector.Run(ctx)
	a.log.Info("storeagent stopped")
	return err
}

// NewLogger builds the logger the configuration asks for.
func NewLogger(cfg config.Log, w io.Writer) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(cfg.Level))); err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	if cfg.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
