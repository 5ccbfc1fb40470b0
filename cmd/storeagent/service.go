package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
)

func init() {
	for _, action := range svc.Actions {
		program.Add(cli.Command{Name: action, Summary: serviceSummary[action], Run: serviceCmd(action)})
	}
}

var serviceSummary = map[string]string{
	"install":   "register storeagent as a system service (systemd or Windows)",
	"uninstall": "remove the system service",
	"start":     "start the system service",
	"stop":      "stop the system service",
	"restart":   "restart the system service",
	"status":    "say whether the system service is installed and running",
}

// newController is replaced in tests: the service manager of the machine
// running the tests is not the one under test.
var newController = svc.Connect

func serviceCmd(action string) func(context.Context, []string, cli.Stdio) int {
	return func(_ context.Context, args []string, std cli.Stdio) int {
		stdout, stderr := std.Out, std.Err
		fs := program.Flags(action, stderr)
		path := fs.String("config", defaultConfig(), "configuration file the service runs with")
		if err := fs.Parse(args); err != nil {
			return cli.ExitUsage
		}
		abs, err := filepath.Abs(*path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return cli.ExitUsage
		}
		if action == "install" {
			// Refuse to install a service that would fail at its first start.
			if _, _, ok := load(abs, stderr); !ok {
				fmt.Fprintln(stderr, "storeagent: not installed; fix the configuration first")
				return cli.ExitUsage
			}
		}
		if err := svc.Manage(newController, agent.ServiceSpec(abs), action, stdout); err != nil {
			fmt.Fprintf(stderr, "storeagent: %v\n", err)
			return cli.ExitFailed
		}
		return cli.ExitOK
	}
}
