package svc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	"github.com/kardianos/service"
)

// Run runs run as the program spec describes, the same way for storeagent
// run and storehub serve. From a terminal it runs until ctx ends or the
// program is interrupted (Ctrl-C, SIGTERM). Under a service manager (the
// Windows service manager, systemd) kardianos answers the manager's start and
// stop requests instead, and records of log at warning level and above also
// go to the system log (the Windows Event Log): Run replaces log's handler in
// place, so run must take its loggers from log when it is called, not before.
func Run(ctx context.Context, spec Spec, log *slog.Logger, run func(ctx context.Context) error) error {
	if Interactive() {
		ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
		defer stop()
		return run(ctx)
	}
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	p := newProgram(spec, run, log)
	s, err := service.New(p, Config(spec, exe))
	if err != nil {
		return fmt.Errorf("%s service: %w", spec.Name, err)
	}
	if sys, err := s.SystemLogger(nil); err == nil {
		*log = *slog.New(NewSystemLogHandler(log.Handler(), sys))
	}
	return serve(s, spec, p)
}

// Connect returns the controller of spec's service for the program exe. The
// commands call it through a variable their tests replace: the service
// manager of the machine running the tests is not the one under test.
func Connect(spec Spec, exe string) (Controller, error) {
	return New(spec, exe, nil, nil)
}

// Manage performs action (one of Actions) on spec's service for the running
// executable, through the controller connect returns (Connect, or a fake in
// tests), and says in out what happened.
func Manage(connect func(Spec, string) (Controller, error), spec Spec, action string, out io.Writer) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	ctl, err := connect(spec, exe)
	if err != nil {
		return fmt.Errorf("%s %s: %w", spec.Name, action, err)
	}
	return Control(ctl, spec, action, out)
}

// ConfigFile is where the packages install a program's configuration file
// name: /etc/storewatch/name, or %ProgramData%\storewatch\name on Windows;
// the commands' --config defaults to it.
func ConfigFile(name string) string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\storewatch\` + name
	}
	return "/etc/storewatch/" + name
}
