package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kardianos/service"

	"github.com/storewatch/storewatch/agent"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/svc/svctest"
)

// The unit the packages ship is the one `install` would write for
// /usr/bin/storeagent; regenerate it with -update after changing the spec.
func TestPackagedUnitIsCurrent(t *testing.T) {
	svctest.PackagedUnit(t, agent.ServiceSpec("/etc/storewatch/agent.yaml"), "/usr/bin/storeagent",
		"../../packaging/systemd/storeagent.service", *updateGolden)
}

func TestSystemdAcceptsTheUnit(t *testing.T) {
	svctest.SystemdAccepts(t, agent.ServiceSpec("/etc/storewatch/agent.yaml"))
}

func TestInstallStatusUninstall(t *testing.T) {
	rec := &svctest.Recorder{State: service.StatusRunning}
	old := newController
	newController = rec.Connect
	t.Cleanup(func() { newController = old })

	cfg := writeConfig(t, "  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://10.0.0.1:445'}\n")
	for _, action := range []string{"install", "status", "uninstall"} {
		out, errOut, code := run(action, "--config", cfg)
		if code != cli.ExitOK {
			t.Fatalf("%s: exit %d\n%s%s", action, code, out, errOut)
		}
	}
	if strings.Join(rec.Calls, ",") != "install,status,uninstall" {
		t.Errorf("calls = %v", rec.Calls)
	}
	if strings.Join(rec.Spec.Args, " ") != "run --config "+cfg || rec.Spec.User != "storewatch" {
		t.Errorf("service spec = %+v", rec.Spec)
	}

	// A broken configuration is not installed.
	rec.Calls = nil
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	os.WriteFile(bad, []byte("tenant: [\n"), 0o644)
	if _, errOut, code := run("install", "--config", bad); code != cli.ExitUsage || !strings.Contains(errOut, "fix the configuration first") {
		t.Errorf("install of a broken config: exit %d: %s", code, errOut)
	}
	if len(rec.Calls) != 0 {
		t.Errorf("service manager was called: %v", rec.Calls)
	}
}
