package svc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/kardianos/service"
)

// Spec describes one of our services.
type Spec struct {
	Name        string   // storeagent
	DisplayName string   // storewatch store agent
	Description string   // one line for the service list
	Args        []string // arguments after the executable, e.g. run --config FILE
	// PreArgs, if set, are the arguments of a step systemd runs with full
	// privileges before each start (ExecStartPre=+): storeagent's pending
	// enrolment, which writes /etc/storewatch where the service may not.
	PreArgs   []string
	User      string   // Linux: the unprivileged account (storewatch)
	Groups    []string // Linux: supplementary groups (dialout for serial, plugdev for USB)
	StateDir  string   // Linux: directory under /var/lib systemd creates for the user (storewatch)
	ConfigDir string   // Linux: directory under /etc the service reads (storewatch)
	Devices   bool     // Linux: the service opens serial, USB and printer device nodes
	// StopTimeout bounds how long Stop waits for the program; Windows asks
	// for an answer within seconds.
	StopTimeout time.Duration
}

// Controller is the part of a service the commands drive.
type Controller interface {
	Install() error
	Uninstall() error
	Start() error
	Stop() error
	Restart() error
	Status() (service.Status, error)
}

// Config builds kardianos' configuration for spec. exe is the path of the
// binary to register.
func Config(spec Spec, exe string) *service.Config {
	c := &service.Config{
		Name:        spec.Name,
		DisplayName: spec.DisplayName,
		Description: spec.Description,
		Executable:  exe,
		Arguments:   spec.Args,
		Option: service.KeyValue{
			// Windows: automatic start. Delayed start and the recovery
			// actions (WindowsRecovery) are set after kardianos has
			// registered the service, one by one, so that a setting the
			// service manager refuses is reported instead of undoing
			// the whole install.
			"StartType": "automatic",
		},
	}
	if runtime.GOOS == "linux" {
		// Our own unit instead of kardianos' default (Restart=always with a
		// fixed 120 s delay, no hardening, runs as root).
		c.Option["SystemdScript"] = Unit(spec, exe)
	}
	return c
}

// program adapts a run function to kardianos' Start/Stop.
type program struct {
	run     func(ctx context.Context) error
	timeout time.Duration
	log     *slog.Logger

	mu     sync.Mutex
	cancel context.CancelFunc
	done   chan error
}

func (p *program) Start(service.Service) error {
	ctx, cancel := context.WithCancel(context.Background())
	p.mu.Lock()
	p.cancel, p.done = cancel, make(chan error, 1)
	p.mu.Unlock()
	go func() {
		err := p.run(ctx)
		if err != nil && ctx.Err() == nil {
			// Failing on its own: exit non-zero so the service manager's
			// recovery (Restart=on-failure, SCM restart) takes over.
			p.log.Error("stopped on its own", "err", err)
			os.Exit(1)
		}
		p.done <- err
	}()
	return nil
}

func (p *program) Stop(service.Service) error {
	p.mu.Lock()
	cancel, done := p.cancel, p.done
	p.mu.Unlock()
	if cancel == nil {
		return nil
	}
	cancel()
	select {
	case err := <-done:
		return err
	case <-time.After(p.timeout):
		return fmt.Errorf("did not stop within %v", p.timeout)
	}
}

// New returns the service for spec, running run while started.
func New(spec Spec, exe string, run func(ctx context.Context) error, log *slog.Logger) (service.Service, error) {
	return service.New(newProgram(spec, run, log), Config(spec, exe))
}

func newProgram(spec Spec, run func(ctx context.Context) error, log *slog.Logger) *program {
	timeout := spec.StopTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &program{run: run, timeout: timeout, log: log}
}

// Actions are the service commands.
var Actions = []string{"install", "uninstall", "start", "stop", "restart", "status"}

// Control performs one action and says what happened in words.
func Control(c Controller, spec Spec, action string, out io.Writer) error {
	var err error
	switch action {
	case "install":
		if err = beforeInstall(spec); err != nil {
			break
		}
		if err = c.Install(); err == nil {
			var notes []string
			notes, err = afterInstall(spec)
			for _, n := range notes {
				fmt.Fprintf(out, "warning: %s\n", n)
			}
			fmt.Fprintf(out, "%s installed; start it with: %s start\n", spec.Name, spec.Name)
		}
	case "uninstall":
		if err = c.Uninstall(); err == nil {
			fmt.Fprintf(out, "%s uninstalled\n", spec.Name)
		}
	case "start", "stop", "restart":
		err = map[string]func() error{"start": c.Start, "stop": c.Stop, "restart": c.Restart}[action]()
		if err == nil {
			fmt.Fprintf(out, "%s: %s done\n", spec.Name, action)
		}
	case "status":
		var st service.Status
		st, err = c.Status()
		switch {
		case errors.Is(err, service.ErrNotInstalled):
			fmt.Fprintf(out, "%s is not installed\n", spec.Name)
			return err
		case err != nil:
		case st == service.StatusRunning:
			fmt.Fprintf(out, "%s is running\n", spec.Name)
		case st == service.StatusStopped:
			fmt.Fprintf(out, "%s is installed but stopped\n", spec.Name)
		default:
			fmt.Fprintf(out, "%s: state unknown\n", spec.Name)
		}
	default:
		return fmt.Errorf("unknown action %q (want one of %v)", action, Actions)
	}
	if err != nil {
		return fmt.Errorf("%s %s: %w%s", spec.Name, action, err, adminHint(err))
	}
	return nil
}

func adminHint(err error) string {
	if errors.Is(err, os.ErrPermission) || strings.Contains(err.Error(), "ermission denied") || strings.Contains(err.Error(), "Access is denied") {
		if runtime.GOOS == "windows" {
			return " (run it from an Administrator prompt)"
		}
		return " (run it as root)"
	}
	return ""
}

// Interactive reports whether the program runs from a terminal rather than
// under a service manager.
func Interactive() bool { return interactive() }
