package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/version"
)

// program is storehub's table of commands.
var program = &cli.Program{Name: "storehub", Usage: func(w io.Writer) { fmt.Fprint(w, usage) }}

func init() {
	for _, c := range []struct {
		name string
		run  func(ctx context.Context, args []string, std cli.Stdio) error
	}{
		{"serve", serve}, {"config", configCmd},
		{"incidents", list("incidents")}, {"devices", list("devices")}, {"stores", list("stores")},
		{"agents", agentsCmd}, {"tokens", tokensCmd}, {"profiles", profilesCmd},
		{"acl", acl}, {"passwd", passwd}, {"query", queryCmd}, {"keys", keys}, {"migrate", migrateCmd}, {"version", versionCmd},
	} {
		program.Add(cli.Command{Name: c.name, Run: program.Fallible(c.run)})
	}
	for _, action := range svc.Actions {
		program.Add(cli.Command{Name: action, Run: program.Fallible(serviceCmd(action))})
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return program.Run(ctx, args, cli.Stdio{In: stdin, Out: stdout, Err: stderr})
}

// usage groups the commands, so it is written out rather than listed from
// the table.
const usage = `usage: storehub COMMAND [flags]

commands:
  serve      run the hub (embedded broker, incident engine, ticket store, API)
  config     check a configuration file: config check [FILE]
  incidents  list incidents through the API
  devices    list devices through the API
  stores     list stores through the API
  agents     the fleet: each agent's version, OS, configuration, last contact, outbox backlog
             (--behind: only agents behind); agents revoke TENANT/STORE/AGENT cuts one off
  tokens     enrolment tokens: tokens create --tenant T [--stores S0*] [--expires 168h] [--uses N],
             tokens list, tokens revoke ID
  profiles   device profiles: profiles put FILE.yaml, list, values TENANT/NAME STORE NAME=VALUE...,
             delete TENANT/NAME, show TENANT/STORE/AGENT (what an agent gets)
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

// configFlag adds --config; parseConfig parses the flags and loads the
// file it names.
func configFlag(fs *flag.FlagSet) *string {
	return fs.String("config", svc.ConfigFile("hub.yaml"), "hub configuration file")
}

func parseConfig(fs *flag.FlagSet, path *string, args []string) (*hub.Config, error) {
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return hub.LoadConfig(*path)
}

func versionCmd(_ context.Context, _ []string, std cli.Stdio) error {
	fmt.Fprintln(std.Out, version.Long("storehub"))
	return nil
}
