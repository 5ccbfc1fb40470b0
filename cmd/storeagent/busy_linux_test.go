package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"

	"github.com/storewatch/storewatch/devsim"
	devescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// A receipt printer whose port the POS application has open is reported
// as busy with the holder's name and pid, not as unreachable.
func TestDevicesShowsWhoHoldsABusyPort(t *testing.T) {
	p, err := devsim.ServePTY(context.Background(), devescpos.New())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// The POS application: a program called POS.exe holding the port open.
	pos := filepath.Join(t.TempDir(), "POS.exe")
	sleep, err := os.ReadFile(testenv.LookPath(t, "sleep"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pos, sleep, 0o755); err != nil {
		t.Fatal(err)
	}
	port, err := os.OpenFile(p.Path, os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pos, "300")
	cmd.Stdin = port
	holder := testenv.StartCmd(t, cmd)
	port.Close()
	pid := holder.Cmd.Process.Pid

	cfg := writeConfig(t, fmt.Sprintf(`  - id: receipt-lane3
    kind: receipt_printer
    driver: escpos
    address: serial://%s
    location: lane 3
`, p.Path))
	out, errOut, code := run("devices", "--config", cfg)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	want := regexp.MustCompile(fmt.Sprintf(`(?m)^receipt-lane3\s+receipt_printer\s+escpos\s+lane 3\s+busy\s+\S+\s+in use by POS\.exe \(pid %d\)$`, pid))
	if !want.MatchString(out) {
		t.Errorf("devices output does not say who holds the printer:\n%s", out)
	}
	out, _, _ = run("devices", "--config", cfg, "--json")
	if !strings.Contains(out, `"state": "busy"`) || !strings.Contains(out, fmt.Sprintf(`"pid": %d`, pid)) {
		t.Errorf("--json lacks the busy state or holder:\n%s", out)
	}
	holder.Kill()
	out, _, _ = run("devices", "--config", cfg)
	if !regexp.MustCompile(`(?m)^receipt-lane3\s.*\sok\s`).MatchString(out) {
		t.Errorf("after the POS application let go, the printer should read ok:\n%s", out)
	}
}
