package main

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc"
)

// newController is replaced in tests: the service manager of the machine
// running the tests is not the one under test.
var newController = svc.Connect

// serviceCmd runs one of the service commands (svc.Actions): install,
// uninstall, start, stop, restart, status.
func serviceCmd(action string) func(context.Context, []string, cli.Stdio) error {
	return func(_ context.Context, args []string, std cli.Stdio) error {
		fs := program.Flags(action, std.Err)
		path := configFlag(fs)
		if err := fs.Parse(args); err != nil {
			return err
		}
		if fs.NArg() > 0 {
			return fmt.Errorf("%s: unexpected argument %q", action, fs.Arg(0))
		}
		abs, err := filepath.Abs(*path)
		if err != nil {
			return err
		}
		if action == "install" {
			// Refuse to install a service that would fail at its first start.
			if err := checkConfig(abs); err != nil {
				return fmt.Errorf("not installed; fix the configuration first:\n%w", err)
			}
		}
		return svc.Manage(newController, hub.ServiceSpec(abs), action, std.Out)
	}
}

// configCmd is `storehub config check [FILE]`.
func configCmd(_ context.Context, args []string, std cli.Stdio) error {
	if len(args) == 0 || args[0] != "check" {
		return fmt.Errorf("usage: storehub config check [--config] FILE")
	}
	fs := program.Flags("config check", std.Err)
	path := configFlag(fs)
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	file := *path
	if fs.NArg() > 0 {
		file = fs.Arg(0)
	}
	if err := checkConfig(file); err != nil {
		return err
	}
	fmt.Fprintf(std.Out, "%s: OK\n", file)
	return nil
}

// checkConfig loads the file and checks what serve would refuse before it
// opens anything.
func checkConfig(path string) error {
	cfg, err := hub.LoadConfig(path)
	if err != nil {
		return err
	}
	return hub.Check(cfg)
}
