//go:build wine

package wintest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/wine"
)

func TestMain(m *testing.M) {
	code := wine.Main(m)
	if buildDir != "" {
		os.RemoveAll(buildDir)
	}
	os.Exit(code)
}

// Where the MSI puts things, and where the tests put them by hand.
const (
	programDir = `C:\Program Files\storewatch`
	agentExe   = programDir + `\storeagent.exe`
	dataDir    = `C:\ProgramData\storewatch`
	agentYAML  = dataDir + `\agent.yaml`
)

var (
	buildOnce sync.Once
	buildDir  string
	buildExe  string
	buildErr  error
)

// distDir is STOREWATCH_DIST (relative to the repository root), or "".
func distDir() string {
	dir := os.Getenv("STOREWATCH_DIST")
	if dir != "" && !filepath.IsAbs(dir) {
		dir = filepath.Join("..", "..", dir)
	}
	return dir
}

// storeagentExe returns the storeagent.exe under test: the one
// scripts/package built, or one built now for windows/amd64.
func storeagentExe(t *testing.T) string {
	t.Helper()
	if dist := distDir(); dist != "" {
		return filepath.Join(dist, "bin", "windows_amd64", "storeagent.exe")
	}
	buildOnce.Do(func() {
		if buildDir, buildErr = os.MkdirTemp("", "storewatch-wintest-"); buildErr != nil {
			return
		}
		buildExe = filepath.Join(buildDir, "storeagent.exe")
		cmd := exec.Command("go", "build", "-trimpath", "-o", buildExe, "github.com/storewatch/storewatch/cmd/storeagent")
		cmd.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("%v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatalf("build storeagent.exe: %v", buildErr)
	}
	return buildExe
}

// installAgent copies storeagent.exe to where the MSI installs it and
// removes it, and everything under %ProgramData%\storewatch, when the test
// ends.
func installAgent(t *testing.T, p *wine.Prefix) {
	t.Helper()
	copyFile(t, storeagentExe(t), p.Path(agentExe))
	t.Cleanup(func() {
		os.RemoveAll(p.Path(programDir))
		os.RemoveAll(p.Path(dataDir))
	})
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// writeFile writes text to a Windows path in the prefix.
func writeFile(t *testing.T, p *wine.Prefix, win, text string) {
	t.Helper()
	path := p.Path(win)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// agentConfig is a configuration for tests: fast polling without debounce
// or grace, the outbox at its Windows default place, and devices.
func agentConfig(brokerURL string, devices ...string) string {
	var b strings.Builder
	b.WriteString("tenant: acme\nstore: s0042\nagent: pos-1\n")
	b.WriteString("site: {name: Test store, timezone: Europe/Berlin}\n")
	b.WriteString("polling: {interval: 1s, timeout: 2s, debounce: 1, grace: 0s}\n")
	b.WriteString("telemetry: {interval: 5s}\n")
	b.WriteString("outbox: {path: '" + dataDir + `\outbox.db'}` + "\n")
	if brokerURL != "" {
		b.WriteString("broker: {urls: [" + brokerURL + "], keepalive: 5s}\n")
	}
	b.WriteString("log: {level: debug}\n")
	b.WriteString("devices:\n")
	for _, d := range devices {
		b.WriteString("  - " + d + "\n")
	}
	if len(devices) == 0 {
		b.WriteString("  []\n")
	}
	return b.String()
}

// must fails the test unless r ended with code.
func must(t *testing.T, r wine.Result, code int, what string) wine.Result {
	t.Helper()
	if r.Code != code {
		t.Fatalf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", what, r.Code, code, r.Stdout, r.Stderr)
	}
	return r
}
