// Package svctest helps the commands test their service side: a recording
// stand-in for the service manager, and checks that the systemd unit the
// packages ship is the one internal/svc renders and that systemd accepts it.
package svctest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kardianos/service"

	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// Recorder stands in for the machine's service manager: it records what was
// asked of it and answers status with State.
type Recorder struct {
	Calls []string
	State service.Status
	Spec  svc.Spec // the spec of the last Connect
	Exe   string
}

// Connect has svc.Connect's signature: a command's newController.
func (r *Recorder) Connect(spec svc.Spec, exe string) (svc.Controller, error) {
	r.Spec, r.Exe = spec, exe
	return r, nil
}

func (r *Recorder) do(call string) error { r.Calls = append(r.Calls, call); return nil }
func (r *Recorder) Install() error       { return r.do("install") }
func (r *Recorder) Uninstall() error     { return r.do("uninstall") }
func (r *Recorder) Start() error         { return r.do("start") }
func (r *Recorder) Stop() error          { return r.do("stop") }
func (r *Recorder) Restart() error       { return r.do("restart") }
func (r *Recorder) Status() (service.Status, error) {
	return r.State, r.do("status")
}

// PackagedUnit checks that file (packaging/systemd/NAME.service) holds the
// unit svc.Unit renders for spec with exe, the one `NAME install` would write
// there; with update it rewrites file first.
func PackagedUnit(t *testing.T, spec svc.Spec, exe, file string, update bool) {
	t.Helper()
	want := svc.Unit(spec, exe)
	if update {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date; rerun this test with -update", file)
	}
}

// SystemdAccepts has systemd itself check spec's unit with systemd-analyze
// verify, which needs no running systemd.
func SystemdAccepts(t *testing.T, spec svc.Spec) {
	t.Helper()
	analyze := testenv.LookPath(t, "systemd-analyze")
	dir := t.TempDir()
	exe := filepath.Join(dir, spec.Name)
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, spec.Name+".service")
	if err := os.WriteFile(unit, []byte(svc.Unit(spec, exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// Outside a booted systemd, verify also complains about the machine
	// (missing default targets); only lines about our unit count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, spec.Name+".service") {
			ours = append(ours, line)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify (%v):\n%s", err, strings.Join(ours, "\n"))
	}
}
