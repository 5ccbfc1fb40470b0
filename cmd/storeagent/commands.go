package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/collector"
	"github.com/storewatch/storewatch/config"
	_ "github.com/storewatch/storewatch/drivers/all"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/version"
	"github.com/storewatch/storewatch/wire"
)

func init() {
	program.Add(cli.Command{Name: "run", Summary: "monitor the store's devices until stopped", Run: runCmd})
	program.Add(cli.Command{Name: "config", Summary: "check a configuration file (config check FILE) or set per-store settings in it (config set FILE SETTING=VALUE...)", Run: configCmd})
	program.Add(cli.Command{Name: "devices", Summary: "probe every configured device once and print its state", Run: devicesCmd})
	program.Add(cli.Command{Name: "version", Summary: "print the version", Run: versionCmd})
}

// load reads and checks the configuration and builds its devices, so that
// every command refuses a broken file the same way.
func load(path string, stderr io.Writer) (*config.Agent, *config.Lines, bool) {
	cfg, lines, err := config.Load(path)
	if err == nil {
		_, err = agent.BuildDevices(cfg, lines, nil)
	}
	if err != nil {
		printConfigError(stderr, err)
		return nil, nil, false
	}
	return cfg, lines, true
}

func runCmd(_ context.Context, args []string, std cli.Stdio) int {
	stderr := std.Err
	fs := program.Flags("run", stderr)
	path := fs.String("config", defaultConfig(), "configuration file")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	cfg, lines, ok := load(*path, stderr)
	if !ok {
		return cli.ExitUsage
	}
	if cfg.Log.File == "" && runtime.GOOS == "windows" && !svc.Interactive() {
		// A Windows service has no console to log to.
		cfg.Log.File = filepath.Join(filepath.Dir(cfg.Outbox.Path), "storeagent.log")
	}
	log, closeLog, err := agent.NewLogger(cfg.Log, stderr)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return cli.ExitUsage
	}
	defer closeLog()
	agent.TuneRuntime()
	run := func(ctx context.Context) error {
		// An enrolment the installer left (the MSI's ENROLLTOKEN, the
		// deb's STOREWATCH_ENROLL_TOKEN) is carried out first.
		if enrollPending(ctx, *path, log) {
			var out strings.Builder
			c, l, ok := load(*path, &out)
			if !ok {
				return fmt.Errorf("the enrolled configuration does not check: %s", out.String())
			}
			cfg, lines = c, l
		}
		if ctx.Err() != nil {
			return nil
		}
		if len(cfg.Broker.URLs) == 0 {
			log.Warn("no broker configured: events are only logged")
		}
		var cv string
		if data, err := os.ReadFile(*path); err == nil {
			cv = agent.LocalConfigVersion(data)
		}
		a, err := agent.New(cfg, lines, agent.Options{Logger: log, Version: version.String(), ConfigVersion: cv,
			ConfigFile: *path})
		if err != nil {
			return err
		}
		return a.Run(ctx)
	}

	if err := svc.Run(context.Background(), agent.ServiceSpec(*path), log, run); err != nil {
		log.Error("storeagent failed", "err", err)
		return cli.ExitFailed
	}
	return cli.ExitOK
}

func configCmd(_ context.Context, args []string, std cli.Stdio) int {
	stdout, stderr := std.Out, std.Err
	if len(args) > 0 && args[0] == "set" {
		return configSet(args[1:], stdout, stderr)
	}
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: storeagent config check FILE\n       storeagent config set FILE SETTING=VALUE...")
		return cli.ExitUsage
	}
	fs := program.Flags("config check", stderr)
	path := fs.String("config", "", "configuration file (or give it as the argument)")
	if err := fs.Parse(args[1:]); err != nil {
		return cli.ExitUsage
	}
	file := *path
	if fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if file == "" {
		file = defaultConfig()
	}
	cfg, _, ok := load(file, stdout)
	if !ok {
		return cli.ExitUsage
	}
	fmt.Fprintf(stdout, "%s: OK\n", file)
	hubManaged(file, cfg, stdout)
	return cli.ExitOK
}

func devicesCmd(_ context.Context, args []string, std cli.Stdio) int {
	stdout, stderr := std.Out, std.Err
	fs := program.Flags("devices", stderr)
	path := fs.String("config", defaultConfig(), "configuration file")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return cli.ExitUsage
	}
	cfg, lines, ok := load(*path, stderr)
	if !ok {
		return cli.ExitUsage
	}
	cfg.Polling.Grace = 0
	log, _, _ := agent.NewLogger(config.AgentLog{Level: "error", Format: "text"}, stderr)
	// The devices the hub manages too, as the running agent has them.
	a, err := agent.New(cfg, lines, agent.Options{Logger: log, Sink: agent.LogSink{Log: log}, ConfigFile: *path})
	if err != nil {
		printConfigError(stderr, err)
		return cli.ExitUsage
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results := a.Collector().ProbeAll(ctx)

	byID := map[string]config.Device{}
	for _, d := range cfg.Devices {
		byID[d.ID] = d
	}
	if *asJSON {
		rows := []deviceRow{} // [] for none, not null
		for _, r := range results {
			d, _ := deviceOf(cfg, byID, r.ID)
			rows = append(rows, deviceRow{ID: r.ID, Kind: d.Kind, Driver: d.Driver, Location: d.Location, State: r.State,
				Faults: r.Faults, Detail: r.Detail, Identity: r.Ident, Holder: r.Holder, TookMS: ms(r.Took)})
		}
		if err := writeJSON(stdout, rows); err != nil {
			return outputFailed(stderr, "devices", err)
		}
		return cli.ExitOK
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "DEVICE\tKIND\tDRIVER\tLOCATION\tSTATE\tTOOK\tREASON")
	for _, r := range results {
		d, _ := deviceOf(cfg, byID, r.ID)
		state := string(r.State)
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.ID, d.Kind, d.Driver, dash(d.Location), state,
			fmt.Sprintf("%.1fms", float64(r.Took.Microseconds())/1000), reason(r))
	}
	tw.Flush()
	return cli.ExitOK
}

// deviceOf is the configured device of a probe result, or the store PC's
// own checks.
func deviceOf(cfg *config.Agent, byID map[string]config.Device, id string) (config.Device, bool) {
	d, ok := byID[id]
	if !ok && id == config.HostDeviceID && cfg.Host != nil {
		return config.Device{Kind: "pos_pc", Driver: "host", Location: cfg.Host.Location}, true
	}
	return d, ok
}

// deviceRow is one device in `devices --json` (the JSON style: docs in
// README.md, Commands).
type deviceRow struct {
	ID       string           `json:"id"`
	Kind     string           `json:"kind,omitempty"`
	Driver   string           `json:"driver,omitempty"`
	Location string           `json:"location,omitempty"`
	State    wire.HealthState `json:"state"`
	Faults   []wire.Fault     `json:"faults,omitempty"`
	Detail   string           `json:"detail,omitempty"`
	Identity *wire.Identity   `json:"identity,omitempty"`
	Holder   *wire.Holder     `json:"holder,omitempty"`
	TookMS   float64          `json:"took_ms"`
}

// ms is a duration in milliseconds with microseconds kept: a probe of a
// local device takes well under one, and 0 would read as "not measured".
func ms(d time.Duration) float64 { return math.Round(float64(d.Microseconds())) / 1000 }

// writeJSON writes v indented, as every --json of storeagent does.
// outputFailed says on stderr that a command could not write its answer
// (a closed pipe, a full disk, a console handle Windows refuses): without
// it the command would exit 1 having printed nothing at all.
func outputFailed(stderr io.Writer, command string, err error) int {
	fmt.Fprintf(stderr, "storeagent %s: writing the answer: %v\n", command, err)
	return cli.ExitFailed
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// reason says in a line why a device is in its state: its faults with what
// the driver saw, or what was read when it is healthy.
func reason(r collector.Result) string {
	if r.Busy && r.Holder != nil {
		return r.Holder.String() // "in use by POS.exe (pid 4312)"; --json has the whole detail
	}
	if len(r.Faults) == 0 {
		return dash(r.Detail)
	}
	parts := make([]string, len(r.Faults))
	for i, f := range r.Faults {
		parts[i] = string(f.Code)
		if f.Detail != "" {
			parts[i] += ": " + f.Detail
		}
	}
	return strings.Join(parts, "; ")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func versionCmd(_ context.Context, _ []string, std cli.Stdio) int {
	fmt.Fprintln(std.Out, version.Long("storeagent"))
	return cli.ExitOK
}

// hubManaged says which devices the hub manages on top of the file: the
// last good configuration it sent, kept beside the outbox, checked with
// the file as the agent would.
func hubManaged(file string, cfg *config.Agent, w io.Writer) {
	saved, err := agent.SavedHubConfig(cfg)
	if err != nil || saved == nil {
		if cfg.Remote.HubPublicKey != "" {
			fmt.Fprintln(w, "the hub manages no devices of this agent (yet); all of them are in this file")
		}
		return
	}
	dc, err := agent.VerifyHubConfig(saved, wire.AgentID{Tenant: cfg.Tenant, Store: cfg.Store, Agent: cfg.ID}, cfg.Remote.HubPublicKey, time.Time{})
	if err == nil {
		local, rerr := os.ReadFile(file)
		if err = rerr; err == nil {
			var hc *agent.HubConfigured
			if hc, err = agent.ApplyHubConfig(file, local, dc); err == nil {
				var ids []string
				for _, d := range hc.Config.Devices[len(cfg.Devices):] {
					ids = append(ids, d.ID)
				}
				fmt.Fprintf(w, "the hub manages %d more device(s) (configuration %s, profiles %s): %s; devices: in this file are local\n",
					len(ids), dc.Version, strings.Join(dc.Profiles, ", "), strings.Join(ids, ", "))
				if dc.Discovery != "" {
					fmt.Fprintf(w, "the hub sets discovery: (networks scanned: %s); this file may not set it\n",
						strings.Join(hc.Config.Discovery.Networks, ", "))
				}
				return
			}
		}
	}
	fmt.Fprintf(w, "the configuration last received from the hub (%s) does not apply with this file: %v\n", agent.HubConfigFile(cfg), err)
}
