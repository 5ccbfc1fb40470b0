//go:build wine

package wintest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/agenttest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/internal/testkit/wine"
	"github.com/storewatch/storewatch/wire"
)

// The x64 MSI scripts/package built, installed, upgraded and removed the
// way an administrator or SCCM does it: msiexec /qn with the properties
// (packaging/README.md), no prompt, nothing else.
func TestMSIInstallUpgradeUninstall(t *testing.T) {
	p := wine.Use(t)
	dist, built := builtMSI(t)
	exe := filepath.Join(dist, "bin", "windows_amd64", "storeagent.exe")
	first := p.WinPath(built)
	next := p.WinPath(nextMSI(t, dist, exe))
	broker := testenv.StartMosquitto(t, testenv.MosquittoOptions{})
	obs := agenttest.Observe(t, broker.URL)
	t.Cleanup(func() {
		p.Run(t, "msiexec.exe", "/x", next, "/qn")
		p.Run(t, "msiexec.exe", "/x", first, "/qn")
		os.RemoveAll(p.Path(dataDir))
		// Wine's msi.dll deletes registry keys the uninstall leaves empty,
		// up to the Application log's own key, which is empty in a fresh
		// prefix (on Windows it never is). The next test needs it.
		p.Run(t, "reg.exe", "add", `HKLM\SYSTEM\CurrentControlSet\Services\EventLog\Application`, "/f")
	})

	// A hub address that would break agent.yaml fails the install, which
	// leaves nothing behind.
	r := p.Run(t, "msiexec.exe", "/i", first, "/qn", "HUBURL=ftp://hub.example.com")
	if r.Code == 0 {
		t.Fatalf("msiexec /i with HUBURL=ftp://... succeeded")
	}
	if _, err := os.Stat(p.Path(agentExe)); err == nil {
		t.Errorf("a failed install left %s", agentExe)
	}
	if _, ok := p.Reg(t, serviceKey); ok {
		t.Errorf("a failed install left the service")
	}

	// Install with the store's properties: the service starts at once and
	// reports as the store's agent to the hub given.
	msiexec(t, p, "/i", first, "/qn", "HUBURL="+broker.URL, "TENANT=acme", "STORE=s0042", "AGENT=pos-1")
	if !bytes.Equal(testenv.ReadFile(t, p.Path(agentExe)), testenv.ReadFile(t, exe)) {
		t.Errorf("%s is not the storeagent.exe scripts/package built", agentExe)
	}
	if !bytes.Equal(testenv.ReadFile(t, p.Path(dataDir+`\agent.yaml.example`)), testenv.ReadFile(t, "../windows/agent.yaml.example")) {
		t.Errorf("agent.yaml.example is not packaging/windows/agent.yaml.example")
	}
	// The example with Windows paths (COM ports, winspool, a com0com tap,
	// log and outbox under ProgramData) passes config check as installed.
	must(t, p.RunEnv(t, []string{"STOREWATCH_BROKER_PASSWORD=secret"}, agentExe, "config", "check", dataDir+`\agent.yaml.example`), 0, "config check of the installed example")
	must(t, p.Run(t, agentExe, "config", "check"), 0, "config check of the installed agent.yaml")
	svc := regValues(t, p, serviceKey)
	for name, want := range map[string]string{
		"Start":      "0x2",
		"ObjectName": "LocalSystem",
	} {
		if svc[name].Data != want {
			t.Errorf("%s\\%s = %q, want %q", serviceKey, name, svc[name].Data, want)
		}
	}
	// Windows Installer writes the service's program path; Wine's msi.dll
	// does not quote it (Windows Installer's own is on README.md's list of
	// what only Windows can show).
	args := ` run --config "` + agentYAML + `"`
	if img := svc["ImagePath"].Data; img != `"`+agentExe+`"`+args && img != agentExe+args {
		t.Errorf("ImagePath = %q, want %s%s", img, agentExe, args)
	}
	if src := regValues(t, p, eventSourceKey); !strings.HasSuffix(strings.ToLower(src["EventMessageFile"].Data), `\system32\eventcreate.exe`) || src["TypesSupported"].Data != "0x7" {
		t.Errorf("event source: %v", src)
	}
	birth := obs.WaitFor(t, "birth of the installed service", agenttest.StatusIs(wire.PresenceOnline)).(*wire.Status)
	if birth.AgentID != (wire.AgentID{Tenant: "acme", Store: "s0042", Agent: "pos-1"}) {
		t.Errorf("the installed agent reports as %v", birth.AgentID)
	}
	if _, err := os.Stat(p.Path(dataDir + `\outbox.db`)); err != nil {
		t.Errorf("no outbox in %s: %v", dataDir, err)
	}

	// The administrator edits agent.yaml; an upgrade keeps it and restarts
	// the service with it.
	edited := strings.Replace(string(testenv.ReadFile(t, p.Path(agentYAML))), "site:\n", "site:\n  name: Edited by the admin\n", 1)
	writeFile(t, p, agentYAML, edited)
	msiexec(t, p, "/i", next, "/qn")
	if got := string(testenv.ReadFile(t, p.Path(agentYAML))); got != edited {
		t.Errorf("the upgrade changed agent.yaml:\n%s", got)
	}
	obs.WaitFor(t, "the upgraded service with the edited configuration", func(m wire.Message) bool {
		inv, ok := m.(*wire.Inventory)
		return ok && inv.Boot != birth.Boot && inv.StoreInfo.Name == "Edited by the admin"
	})
	if got := installedVersions(t, p); len(got) != 1 || got[0] != nextVersion(t, dist) {
		t.Errorf("installed versions after the upgrade: %v, want only %s", got, nextVersion(t, dist))
	}

	// Uninstall removes the program, the service and its event source,
	// and keeps agent.yaml.
	// Under Wine the agent's process outlives its "stopped" by longer than
	// msiexec waits, and the program file would be left in use; so the
	// service is stopped first (README.md, untested on Windows).
	must(t, p.Run(t, agentExe, "stop"), 0, "stop before uninstall")
	p.WaitExited(t, "storeagent.exe")
	msiexec(t, p, "/x", next, "/qn")
	if _, err := os.Stat(p.Path(agentExe)); err == nil {
		t.Errorf("uninstall left %s", agentExe)
	}
	if _, ok := p.Reg(t, serviceKey); ok {
		t.Errorf("uninstall left the service")
	}
	if _, ok := p.Reg(t, eventSourceKey); ok {
		t.Errorf("uninstall left the event source")
	}
	if got := string(testenv.ReadFile(t, p.Path(agentYAML))); got != edited {
		t.Errorf("uninstall did not keep the edited agent.yaml:\n%s", got)
	}
	if _, err := os.Stat(p.Path(dataDir + `\agent.yaml.example`)); err == nil {
		t.Errorf("uninstall left agent.yaml.example")
	}
	if got := installedVersions(t, p); len(got) != 0 {
		t.Errorf("installed versions after uninstall: %v", got)
	}
}

// installedVersions lists the versions of the storewatch store agent that
// Programs and Features shows.
func installedVersions(t *testing.T, p *wine.Prefix) []string {
	t.Helper()
	var versions []string
	for _, values := range p.RegTree(t, `HKLM\Software\Microsoft\Windows\CurrentVersion\Uninstall`) {
		if values["DisplayName"].Data == "storewatch store agent" {
			versions = append(versions, values["DisplayVersion"].Data)
		}
	}
	return versions
}

func msiexec(t *testing.T, p *wine.Prefix, args ...string) {
	t.Helper()
	must(t, p.Run(t, "msiexec.exe", args...), 0, "msiexec "+strings.Join(args, " "))
}

// nextVersion is the MSI version after the one scripts/package stamped:
// its patch level plus one.
func nextVersion(t *testing.T, dist string) string {
	t.Helper()
	info := string(testenv.ReadFile(t, filepath.Join(dist, "build-info.env")))
	m := regexp.MustCompile(`(?m)^MSI_VERSION=(\d+)\.(\d+)\.(\d+)$`).FindStringSubmatch(info)
	if m == nil {
		t.Fatalf("build-info.env has no MSI_VERSION:\n%s", info)
	}
	patch, _ := strconv.Atoi(m[3])
	return fmt.Sprintf("%s.%s.%d", m[1], m[2], patch+1)
}

// nextMSI builds the MSI of the next version from the same storeagent.exe,
// with the script scripts/package uses, to upgrade to.
func nextMSI(t *testing.T, dist, exe string) string {
	t.Helper()
	testenv.LookPath(t, "wixl")
	out := filepath.Join(t.TempDir(), "storeagent-next-x64.msi")
	cmd := exec.Command("../windows/build-msi", "amd64", nextVersion(t, dist), exe, out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build-msi: %v\n%s", err, b)
	}
	return out
}

// builtMSI is the x64 MSI scripts/package built (STOREWATCH_DIST), and its
// directory; without one the test fails under CI and is skipped elsewhere.
func builtMSI(t *testing.T) (dist, msi string) {
	t.Helper()
	dist = distDir()
	if dist == "" {
		if testenv.CI() {
			t.Fatal("STOREWATCH_DIST is not set: scripts/test builds the MSI with scripts/package and sets it")
		}
		t.Skip("no MSI to install: run scripts/package, then STOREWATCH_DIST=$PWD/dist go test -tags wine ./packaging/wintest")
	}
	msis, _ := filepath.Glob(filepath.Join(dist, "storeagent-*-x64.msi"))
	if len(msis) != 1 {
		t.Fatalf("want one x64 MSI in %s, found %v", dist, msis)
	}
	return dist, msis[0]
}
