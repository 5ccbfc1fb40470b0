package main

import (
	"fmt"
	"io"
	"path/filepath"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/internal/svc"
)

func init() {
	for _, action := range svc.Actions {
		commands[action] = command{serviceSummary[action], serviceCmd(action)}
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

func serviceCmd(action string) func(args []string, stdout, stderr io.Writer) int {
	return func(args []string, stdout, stderr io.Writer) int {
		fs := newFlags(action, stderr)
		path := fs.String("config", defaultConfig(), "configuration file the service runs with")
		if err := fs.Parse(args); err != nil {
			return exitUsage
		}
		abs, err := filepath.Abs(*path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return exitUsage
		}
		if action == "install" {
			// Refuse to install a service that would fail at its first start.
			if _, _, ok := load(abs, stderr); !ok {
				fmt.Fprintln(stderr, "storeagent: not installed; fix the configuration first")
				return exitUsage
			}
		}
		if err := svc.Manage(newController, agent.ServiceSpec(abs), action, stdout); err != nil {
			fmt.Fprintf(stderr, "storeagent: %v\n", err)
			return exitFailed
		}
		return exitOK
	}
}
