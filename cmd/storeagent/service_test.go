package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kardianos/service"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/internal/svc"
	"github.com/storewatch/storewatch/internal/testenv"
)

// The unit the packages ship is the one `install` would write for
// /usr/bin/storeagent; regenerate it with -update after changing the spec.
func TestPackagedUnitIsCurrent(t *testing.T) {
	want := svc.Unit(agent.ServiceSpec("/etc/storewatch/agent.yaml"), "/usr/bin/storeagent")
	const file = "../../packaging/systemd/storeagent.service"
	if *updateGolden {
		if err := os.WriteFile(file, []byte(want), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Errorf("%s is out of date; run: go test ./cmd/storeagent -run TestPackagedUnitIsCurrent -update", file)
	}
}

// systemd itself checks the unit (it needs no running systemd for that).
func TestSystemdAcceptsTheUnit(t *testing.T) {
	analyze := testenv.LookPath(t, "systemd-analyze")
	dir := t.TempDir()
	exe := filepath.Join(dir, "storeagent")
	if err := os.WriteFile(exe, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(dir, "storeagent.service")
	if err := os.WriteFile(unit, []byte(svc.Unit(agent.ServiceSpec("/etc/storewatch/agent.yaml"), exe)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	// Outside a booted systemd, verify also complains about the machine
	// (missing default targets); only lines about our unit count.
	var ours []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "storeagent.service") {
			ours = append(ours, line)
		}
	}
	if len(ours) > 0 {
		t.Errorf("systemd-analyze verify (%v):\n%s", err, strings.Join(ours, "\n"))
	}
}

type recorder struct {
	calls  []string
	status service.Status
}

func (r *recorder) Install() error   { r.calls = append(r.calls, "install"); return nil }
func (r *recorder) Uninstall() error { r.calls = append(r.calls, "uninstall"); return nil }
func (r *recorder) Start() error     { r.calls = append(r.calls, "start"); return nil }
func (r *recorder) Stop() error      { r.calls = append(r.calls, "stop"); return nil }
func (r *recorder) Restart() error   { r.calls = append(r.calls, "restart"); return nil }
func (r *recorder) Status() (service.Status, error) {
	r.calls = append(r.calls, "status")
	return r.status, nil
}

func TestInstallStatusUninstall(t *testing.T) {
	rec := &recorder{status: service.StatusRunning}
	var gotSpec svc.Spec
	old := newController
	newController = func(spec svc.Spec, exe string) (svc.Controller, error) { gotSpec = spec; return rec, nil }
	t.Cleanup(func() { newController = old })

	cfg := writeConfig(t, "  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://10.0.0.1:445'}\n")
	for _, action := range []string{"install", "status", "uninstall"} {
		out, errOut, code := run(action, "--config", cfg)
		if code != exitOK {
			t.Fatalf("%s: exit %d\n%s%s", action, code, out, errOut)
		}
	}
	if strings.Join(rec.calls, ",") != "install,status,uninstall" {
		t.Errorf("calls = %v", rec.calls)
	}
	if strings.Join(gotSpec.Args, " ") != "run --config "+cfg || gotSpec.User != "storewatch" {
		t.Errorf("service spec = %+v", gotSpec)
	}

	// A broken configuration is not installed.
	rec.calls = nil
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("tenant: [\n"), 0o644)
	if _, errOut, code := run("install", "--config", bad); code != exitUsage || !strings.Contains(errOut, "fix the configuration first") {
		t.Errorf("install of a broken config: exit %d: %s", code, errOut)
	}
	if len(rec.calls) != 0 {
		t.Errorf("service manager was called: %v", rec.calls)
	}
}
