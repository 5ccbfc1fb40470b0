package agent

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/agent/netscan"
	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/host"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/transport/tap"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/uplink"
	"github.com/storewatch/storewatch/wire"
)

// Options are what the agent needs beyond its configuration.
type Options struct {
	Logger  *slog.Logger
	Version string
	// Sink, if set, receives events and samples instead of the uplink (the
	// devices command, tests). Without it the agent publishes through the
	// uplink when a broker is configured, and logs otherwise.
	Sink collector.Sink
	// OutboxCommitInterval, if set, replaces the uplink's least time between
	// two outbox commits (250ms). The demo compresses it with the rest of
	// time: at 120x, 250ms is half a store minute of delay for every event.
	OutboxCommitInterval time.Duration
	// ConfigVersion names the configuration the agent runs in its
	// heartbeats (LocalConfigVersion of the file); empty: not told.
	ConfigVersion string
	// ConfigFile is the local agent.yaml cfg was loaded from. With it the
	// agent takes device configuration from the hub (hubconfig.go): the
	// last good one at start, new ones while it runs.
	ConfigFile string
}

// Agent is one running storeagent.
type Agent struct {
	log     *slog.Logger
	version string
	up      *uplink.Uplink // nil without a broker
	sink    collector.Sink
	opts    Options

	local      []byte                    // the local file's content, as loaded
	pushes     chan []byte               // configurations from the hub, the newest only
	rediscover chan struct{}             // the hub changed the discovery settings: a round now
	mu         sync.Mutex                // guards what follows, which a configuration from the hub changes
	cfg        *config.Agent             // the configuration the agent runs
	col        *collector.Collector      // polls cfg's devices
	hub        *wire.DeviceConfig        // the hub's part of cfg; nil: none
	state      wire.ConfigState          // what the heartbeat says
	found      []wire.Found              // discovered, not monitored (refound)
	localFound *usbinv.Report            // the last serial ports and USB devices found
	netFound   *netscan.Report           // the last network scan's finds; nil: none allowed
	remote     func(*config.Agent) error // rebuilds the remote query handler for a configuration
	// invBase is the inventory of invCfg without the devices' states, built
	// once per configuration instead of once per inventory.
	invCfg  *config.Agent
	invBase wire.Inventory
}

// New builds the agent from a loaded configuration.
func New(cfg *config.Agent, lines *config.Lines, o Options) (*Agent, error) {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Agent{cfg: cfg, log: log, version: o.Version, opts: o, pushes: make(chan []byte, 1), rediscover: make(chan struct{}, 1),
		state: wire.ConfigState{Version: o.ConfigVersion, Source: "local"}}
	if o.ConfigFile != "" {
		if err := a.loadSavedHubConfig(o.ConfigFile, &cfg, &lines); err != nil {
			log.Error("the last configuration from the hub no longer applies; running the local one until the hub sends another", "err", err)
		}
		a.cfg = cfg
	}
	devs, err := BuildDevices(cfg, lines, host.System())
	if err != nil {
		return nil, err
	}
	sink := o.Sink
	if sink == nil && len(cfg.Broker.URLs) > 0 {
		a.up, err = uplink.New(uplink.Options{
			ID:             a.id(),
			Broker:         cfg.Broker,
			Outbox:         cfg.Outbox,
			Version:        o.Version,
			Logger:         log,
			Grace:          cfg.Polling.Grace,
			HeartbeatEvery: cfg.Telemetry.Interval,
			CommitInterval: o.OutboxCommitInterval,
			ConfigState:    a.configState,
		})
		if err != nil {
			return nil, err
		}
		sink = a.up
	}
	if sink == nil {
		sink = LogSink{Log: log}
	}
	a.sink = &inventorySink{Sink: sink, a: a}
	a.col = a.newCollector(cfg, devs, cfg.Polling.Grace)
	if a.up != nil {
		audit := NewAuditLog(auditPath(cfg), 0, log)
		a.remote = func(c *config.Agent) error {
			remote, err := NewRemote(a.id(), c.Remote.HubPublicKey, a.col, remoteDevices(c), audit, nil, log)
			if err == nil {
				remote.SetResender(a.up)
				a.up.SetCommandHandler(remote)
			}
			return err
		}
		if err := a.remote(cfg); err != nil {
			a.up.Close()
			return nil, err
		}
		if o.ConfigFile != "" {
			a.up.SetConfigHandler(a.onConfig)
		}
	}
	return a, nil
}

func (a *Agent) newCollector(cfg *config.Agent, devs []collector.Device, grace time.Duration) *collector.Collector {
	return collector.New(devs, a.sink, collector.Options{
		Grace:          grace,
		SampleInterval: cfg.Telemetry.Interval,
		Logger:         a.log,
		Jitter:         min(cfg.Polling.Interval, 5*time.Second),
		Batch:          5 * time.Second,
	})
}

func (a *Agent) id() wire.AgentID {
	c := a.cfg
	return wire.AgentID{Tenant: c.Tenant, Store: c.Store, Agent: c.ID}
}

func remoteDevices(cfg *config.Agent) map[string]RemoteDevice {
	m := map[string]RemoteDevice{}
	for _, d := range cfg.Devices {
		m[d.ID] = RemoteDevice{Address: d.Address, AllowRaw: d.RawAllowed}
	}
	if cfg.Host != nil {
		m[config.HostDeviceID] = RemoteDevice{}
	}
	return m
}

// auditPath is remote.audit_log, or audit.log beside the outbox.
func auditPath(cfg *config.Agent) string {
	if cfg.Remote.AuditLog != "" {
		return cfg.Remote.AuditLog
	}
	return filepath.Join(filepath.Dir(cfg.Outbox.Path), "audit.log")
}

// Collector gives access to device states and on-demand probes (of the
// configuration the agent runs now).
func (a *Agent) Collector() *collector.Collector {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.col
}

// Config is the configuration the agent runs now: the local file's, with
// the hub's devices when the hub manages some.
func (a *Agent) Config() *config.Agent {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.cfg
}

// Uplink returns the uplink, nil when no broker is configured.
func (a *Agent) Uplink() *uplink.Uplink { return a.up }

// Run monitors until ctx ends. Polling stops first and its last samples are
// committed to the outbox; then the uplink says goodbye to the broker and
// closes the outbox, so a stop loses nothing the agent recorded.
func (a *Agent) Run(ctx context.Context) error {
	a.log.Info("storeagent started", "tenant", a.cfg.Tenant, "store", a.cfg.Store, "agent", a.cfg.ID,
		"devices", len(a.Collector().States()), "broker", strings.Join(a.cfg.Broker.URLs, ","))
	upCtx, stopUplink := context.WithCancel(context.WithoutCancel(ctx))
	var wg sync.WaitGroup
	if a.up != nil {
		a.publishInventory()
		wg.Go(func() {
			if err := a.up.Run(upCtx); err != nil {
				a.log.Error("uplink stopped", "err", err)
			}
		})
		wg.Go(func() { a.refreshInventory(ctx) })
		wg.Go(func() {
			a.discoverLoop(ctx, discoverer{
				local: func(ctx context.Context) (usbinv.Report, error) { return usbinv.Discover(ctx, "") },
				scan:  netscan.Scan,
			})
		})
	}
	trimCtx, stopTrim := context.WithCancel(ctx)
	defer stopTrim()
	wg.Go(func() { a.trimResidentText(trimCtx) })
	stopTaps, err := a.startTaps(ctx, &wg)
	if err != nil {
		stopTrim()
		stopUplink()
		wg.Wait()
		return err
	}
	err = a.poll(ctx)
	stopTrim()
	stopTaps()
	stopUplink()
	wg.Wait()
	transport.ReleasePortWatch() // the serial probes' shared inotify descriptor
	a.log.Info("storeagent stopped")
	return err
}

// Start-up is over well within trimFirst (the first probes, identity
// reads, inventory and discovery); trimEvery lets go again of what rare
// work (an hourly identity read, a discovery, a remote query) mapped since.
const (
	trimFirst = 2 * time.Minute
	trimEvery = time.Hour
)

// trimResidentText lets go of the binary's pages that start-up and rare
// work mapped (TrimResidentText), first after trimFirst, then every
// trimEvery, until ctx ends.
func (a *Agent) trimResidentText(ctx context.Context) {
	t := time.NewTimer(trimFirst)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := TrimResidentText(); err != nil {
			a.log.Debug("cannot trim the binary's resident pages", "err", err)
			return
		}
		t.Reset(trimEvery)
	}
}

// startTaps opens the serial taps of the devices that have one (only the
// running service does: a one-shot command must not take the ports) and
// routes the drivers' dials of those ports to them.
func (a *Agent) startTaps(ctx context.Context, wg *sync.WaitGroup) (stop func(), err error) {
	tctx, cancel := context.WithCancel(ctx)
	var undo []func()
	stop = func() {
		for _, u := range undo {
			u()
		}
		cancel()
	}
	for _, d := range a.cfg.Devices {
		if d.Tap == nil {
			continue
		}
		addr, err := transport.Parse(d.Address)
		if err != nil {
			stop()
			return nil, err
		}
		t, err := tap.Open(tctx, tapConfig(d, addr, a.log))
		if err != nil {
			stop()
			return nil, fmt.Errorf("device %s: %w", d.ID, err)
		}
		undo = append(undo, transport.RegisterTap(addr.Resource(), t))
		a.log.Info("serial tap open", "device", d.ID, "port", addr.Path, "virtual_port", d.Tap.VirtualPort, "pty", t.Path())
		wg.Go(func() {
			if err := t.Run(tctx); err != nil {
				a.log.Error("serial tap stopped", "device", d.ID, "err", err)
			}
		})
	}
	return stop, nil
}

// tapConfig is the tap of device d on the port at addr: the device's
// timeout bounds an agent exchange, and its driver's watcher (if it has
// one, as zvt does) keeps the agent out of the POS application's
// exchanges.
func tapConfig(d config.Device, addr transport.Address, log *slog.Logger) tap.Config {
	return tap.Config{Port: addr, VirtualPort: d.Tap.VirtualPort, IdleGap: d.Tap.IdleGap,
		ReplyWait: d.Tap.ReplyWait, MaxHold: d.Timeout, Watcher: tap.NewWatcher(d.Driver), Logger: log}
}

// refreshInventory republishes the inventory now and then: identities read
// without a state change (a printer read on its first healthy poll) reach
// the hub too. The uplink only sends it when it changed.
func (a *Agent) refreshInventory(ctx context.Context) {
	t := time.NewTicker(a.cfg.Telemetry.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			a.publishInventory()
		}
	}
}

func (a *Agent) publishInventory() {
	if a.up == nil {
		return
	}
	a.mu.Lock()
	cfg, col, found := a.cfg, a.col, a.found
	if a.invCfg != cfg {
		a.invCfg, a.invBase = cfg, inventoryBase(cfg, a.version)
	}
	base := a.invBase
	a.mu.Unlock()
	inv := withStates(base, col.States())
	inv.Found = found
	if err := a.up.SetInventory(inv); err != nil {
		a.log.Error("inventory", "err", err)
	}
}

// inventorySink passes everything on and refreshes the inventory after each
// state change, so the hub's device list follows the events.
type inventorySink struct {
	collector.Sink
	a *Agent
}

func (s *inventorySink) Event(ctx context.Context, ev wire.Event) error {
	err := s.Sink.Event(ctx, ev)
	s.a.publishInventory()
	return err
}

// NewLogger builds the logger the configuration asks for: to w in
// log.format, and to log.file as JSON lines, rotated, when that is set.
// closeLog closes the file.
func NewLogger(cfg config.AgentLog, w io.Writer) (log *slog.Logger, closeLog func() error, err error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(strings.ToUpper(cfg.Level))); err != nil {
		return nil, nil, fmt.Errorf("log.level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(w, opts)
	if cfg.Format == "json" {
		h = slog.NewJSONHandler(w, opts)
	}
	if cfg.File == "" {
		return slog.New(h), func() error { return nil }, nil
	}
	f := NewRotatingFile(cfg.File, int64(cfg.MaxBytes), cfg.MaxFiles)
	// Open it now: a file the agent cannot write is a mistake to report
	// at start, not a silence later.
	if _, err := f.Write(nil); err != nil {
		return nil, nil, fmt.Errorf("log.file: %w", err)
	}
	return slog.New(slog.NewMultiHandler(h, slog.NewJSONHandler(f, opts))), f.Close, nil
}

// LocalConfigVersion names a local configuration file's content:
// "local-" and the first 12 hex digits of its SHA-256.
func LocalConfigVersion(data []byte) string {
	h := sha256.Sum256(data)
	return "local-" + hex.EncodeToString(h[:6])
}

// configState is what the heartbeat says about the configuration.
func (a *Agent) configState() *wire.ConfigState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.state.Version == "" {
		return nil
	}
	st := a.state
	return &st
}
