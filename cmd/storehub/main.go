package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/version"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

const usage = `usage: storehub COMMAND [flags]

commands:
  serve      run the hub (embedded broker, incident engine, ticket store, API)
  config     check a configuration file: config check [FILE]
  demo       run the hub, an agent and a virtual store of emulated devices through a day
  incidents  list incidents through the API
  devices    list devices through the API
  stores     list stores through the API
  acl        print a Mosquitto acl_file (--passwd: password_file) for the configured agents
  passwd     read a password on stdin, print its $7$ hash for hub.yaml
  query      ask a device's agent for its live state: query STORE DEVICE [status|identify|counters|operations]
  keys       print the hub's public key (remote.hub_public_key of the agents), creating the key if needed
  migrate    bring the PostgreSQL store's schema up to date; --from-bolt hub.db also copies a bbolt hub into it
  version    print the version

  install    register storehub serve as a system service (systemd or Windows)
  uninstall  remove the system service
  start, stop, restart
             start, stop or restart the system service
  status     say whether the system service is installed and running
             (each takes --config FILE, the configuration the service runs with)
`

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "serve":
		err = serve(ctx, args, stderr)
	case "config":
		err = configCmd(args, stdout, stderr)
	case "install", "uninstall", "start", "stop", "restart", "status":
		err = serviceCmd(cmd, args, stdout, stderr)
	case "demo":
		err = demoCmd(ctx, args, stdout, stderr)
	case "incidents", "devices", "stores":
		err = list(ctx, cmd, args, stdout, stderr)
	case "acl":
		err = acl(args, stdout, stderr)
	case "passwd":
		err = passwd(args, stdin, stdout, stderr)
	case "query":
		err = queryCmd(ctx, args, stdout, stderr)
	case "keys":
		err = keys(args, stdout, stderr)
	case "migrate":
		err = migrateCmd(ctx, args, stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, version.Long("storehub"))
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "storehub: unknown command %q\n%s", cmd, usage)
		return 2
	}
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		fmt.Fprintln(stderr, "storehub:", err)
		return 1
	}
	return 0
}

func flags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("storehub "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// configFlag adds --config; parseConfig parses the flags and loads the
// file it names.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", svc.ConfigFile("hub.yaml"), "hub configuration file")
}

func parseConfig(fs *flag.FlagSet, path *string, args []string) (*config.Hub, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return loadConfig(*path)
}

func loadConfig(path string) (*config.Hub, error) {
	cfg, _, err := config.LoadHub(path)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

func serve(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flags("serve", stderr)
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

func acl(args []string, stdout, stderr io.Writer) error {
	fs := flags("acl", stderr)
	path := configFlag(fs)
	hubUser := fs.String("hub-user", "storehub", "the MQTT user the hub connects as")
	pw := fs.Bool("passwd", false, "print a Mosquitto password_file instead")
	cfg, err := parseConfig(fs, path, args)
	if err != nil {
		return err
	}
	a := broker.NewAccess(cfg.Agents)
	if *pw {
		_, err = io.WriteString(stdout, a.PasswordFile())
	} else {
		_, err = io.WriteString(stdout, a.MosquittoACL(*hubUser))
	}
	return err
}

func passwd(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	fs := flags("passwd", stderr)
	it := fs.Int("iterations", broker.DefaultIterations, "PBKDF2 iterations")
	if err := fs.Parse(args); err != nil {
		return err
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	pw := strings.TrimRight(line, "\r\n")
	if pw == "" {
		return errors.New("passwd: no password on stdin")
	}
	h, err := broker.HashPassword(pw, *it)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, h)
	return nil
}

// list runs one of the client commands against the API.
func list(ctx context.Context, cmd string, args []string, stdout, stderr io.Writer) error {
	fs := flags(cmd, stderr)
	c := clientFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	filters := map[string]*string{}
	names := map[string][]string{
		"incidents": {"tenant", "store", "device", "state", "priority", "model", "fault", "kind", "since", "until", "limit"},
		"devices":   {"tenant", "store", "state", "kind", "model"},
		"stores":    {"tenant"},
	}[cmd]
	for _, n := range names {
		filters[n] = fs.String(n, "", "filter by "+n)
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	q := url.Values{}
	for n, v := range filters {
		if *v != "" {
			q.Set(n, *v)
		}
	}
	path := "/api/v1/" + cmd
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	status, body, err := c.do(ctx, "GET", path, nil)
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return c.failure(path, status, body)
	}
	if *asJSON {
		_, err = stdout.Write(body)
		return err
	}
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	defer tw.Flush()
	switch cmd {
	case "incidents":
		var xs []incident.Incident
		if err := json.Unmarshal(body, &xs); err != nil {
			return err
		}
		fmt.Fprintln(tw, "ID\tP\tSTATE\tSTORE\tDEVICE\tFAULT\tMODEL\tSERIAL\tOPENED\tFLAGS")
		for _, x := range xs {
			flags := []string{}
			if x.Flapping {
				flags = append(flags, "flapping")
			}
			if x.Kind != incident.KindFault {
				flags = append(flags, string(x.Kind))
			}
			fmt.Fprintf(tw, "%s\tP%d\t%s\t%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.ID, x.Priority, x.State, x.Tenant, x.Store, x.Device,
				x.Fault, x.Ticket.Model, x.Ticket.Serial, x.OpenedAt.Local().Format("2006-01-02 15:04"), strings.Join(flags, ","))
		}
	case "devices":
		var xs []incident.DeviceRecord
		if err := json.Unmarshal(body, &xs); err != nil {
			return err
		}
		fmt.Fprintln(tw, "STORE\tDEVICE\tKIND\tLOCATION\tSTATE\tMODEL\tSERIAL\tFAULTS")
		for _, x := range xs {
			var codes []string
			for _, f := range x.Faults {
				codes = append(codes, string(f.Code))
			}
			fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", x.Tenant, x.Store, x.ID, x.Kind, x.Location, x.State,
				x.Identity.Model, x.Identity.Serial, strings.Join(codes, ","))
		}
	case "stores":
		var xs []incident.StoreRecord
		if err := json.Unmarshal(body, &xs); err != nil {
			return err
		}
		fmt.Fprintln(tw, "STORE\tNAME\tTIMEZONE\tAGENTS\tADDRESS")
		for _, x := range xs {
			fmt.Fprintf(tw, "%s/%s\t%s\t%s\t%s\t%s\n", x.Tenant, x.Store, x.Info.Name, x.Info.TimeZone, strings.Join(x.Agents, ","), x.Info.Address)
		}
	}
	return nil
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}
