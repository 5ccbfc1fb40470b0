package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers/usbinv/sysfstest"
	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

var updateGolden = flag.Bool("update", false, "rewrite golden files")

// writeConfig writes an agent config with the given devices section.
func writeConfig(t *testing.T, devices string) string {
	t.Helper()
	body := fmt.Sprintf(`tenant: acme
store: s0042
agent: backoffice-1
site:
  timezone: Europe/Berlin
polling:
  interval: 1s
  timeout: 500ms
  debounce: 1
  grace: 0s
outbox:
  path: %s
devices:
%s`, filepath.Join(t.TempDir(), "outbox.db"), devices)
	path := filepath.Join(t.TempDir(), "agent.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func run(args ...string) (stdout, stderr string, code int) {
	var o, e bytes.Buffer
	code = program.Run(context.Background(), args, cli.Stdio{Out: &o, Err: &e})
	return o.String(), e.String(), code
}

// listening starts a TCP listener that accepts and drops connections.
func listening(t *testing.T) string {
	return testenv.ServeTCP(t, nil)
}

func closedAddr(t *testing.T) string {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func TestDevicesShowsOneOKAndOneUnreachable(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf(`  - id: pos-lane1
    kind: pos_pc
    driver: netprobe
    address: tcp://%s
    location: lane 1
  - id: pos-lane2
    kind: pos_pc
    driver: netprobe
    address: tcp://%s
    location: lane 2
`, listening(t), closedAddr(t)))
	out, errOut, code := run("devices", "--config", cfg)
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("want a header and two devices:\n%s", out)
	}
	if !regexp.MustCompile(`^pos-lane1\s+pos_pc\s+netprobe\s+lane 1\s+ok\s`).MatchString(lines[1]) {
		t.Errorf("first device line: %q", lines[1])
	}
	if !regexp.MustCompile(`^pos-lane2\s+pos_pc\s+netprobe\s+lane 2\s+unreachable\s.*unreachable: .*connection refused`).MatchString(lines[2]) {
		t.Errorf("second device line should say unreachable and why: %q", lines[2])
	}
}

func TestConfigCheck(t *testing.T) {
	out, _, code := run("config", "check", "../../config/testdata/three-mistakes.yaml")
	if code != cli.ExitUsage {
		t.Errorf("exit %d, want %d", code, cli.ExitUsage)
	}
	if n := strings.Count(strings.TrimSpace(out), "\n") + 1; n != 3 {
		t.Errorf("want three errors, got %d:\n%s", n, out)
	}
	for _, line := range []string{":11: ", ":16: ", ":17: "} {
		if !strings.Contains(out, line) {
			t.Errorf("no error on line %s:\n%s", line, out)
		}
	}

	good := writeConfig(t, "  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://10.0.0.1:445'}\n")
	out, _, code = run("config", "check", good)
	if code != cli.ExitOK || !strings.HasSuffix(strings.TrimSpace(out), ": OK") {
		t.Errorf("good config: exit %d\n%s", code, out)
	}
}

// Mistakes only the drivers can see still point at their lines.
func TestConfigCheckDriverMistakes(t *testing.T) {
	cfg := writeConfig(t, `  - id: pc1
    kind: pos_pc
    driver: netprobe
    address: tcp://10.0.0.1
  - id: pc2
    kind: pos_pc
    driver: carrier-pigeon
    address: tcp://10.0.0.2:445
  - id: web
    kind: network_device
    driver: netprobe
    address: http://10.0.0.3/
    options:
      expect_stauts: "200"
  - id: pc3
    kind: pos_pc
    driver: netprobe
    address: ftp://10.0.0.4
`)
	out, _, code := run("config", "check", cfg)
	if code != cli.ExitUsage {
		t.Fatalf("exit %d\n%s", code, out)
	}
	for _, want := range []string{
		":16: devices[0].driver: driver netprobe: address tcp://10.0.0.1: a tcp probe needs a port",
		`:20: devices[1].driver: unknown driver "carrier-pigeon"`,
		":26: devices[2].options: driver netprobe: option expect_stauts: not known to this driver",
		`:31: devices[3].address: address "ftp://10.0.0.4": unknown scheme`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	_, errOut, code := run("frobnicate")
	if code != cli.ExitUsage || !strings.Contains(errOut, `unknown command "frobnicate"`) {
		t.Errorf("exit %d: %s", code, errOut)
	}
}

// The real binary runs until SIGTERM, logging state changes.
func TestRunLogsEventsAndStopsOnSignal(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "storeagent")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	cfg := writeConfig(t, fmt.Sprintf("  - {id: pc1, kind: pos_pc, driver: netprobe, address: 'tcp://%s'}\n", listening(t)))
	p := testenv.Start(t, bin, "run", "--config", cfg)
	testenv.WaitFor(t, 20*time.Second, "the ok event in the log", func() bool {
		return strings.Contains(p.Output(), "device=pc1 state=ok")
	})
	p.Signal(syscall.SIGTERM)
	if err := p.Wait(10 * time.Second); err != nil {
		t.Fatalf("agent did not exit cleanly on SIGTERM: %v\n%s", err, p.Output())
	}
	if !strings.Contains(p.Output(), "storeagent stopped") {
		t.Errorf("no stop message:\n%s", p.Output())
	}
}

func TestDiscoverListsRecognisedDevices(t *testing.T) {
	root := sysfstest.Unpack(t, "../../drivers/usbinv/testdata/sys/store.txtar")
	out, errOut, code := run("discover", "--sysfs", root)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"receipt_printer   04b8:0202  X5E1",
		"usb:///dev/usb/lp0",
		"serial://?usb=0b00:0080",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("discover output lacks %q:\n%s", want, out)
		}
	}
}

func appendTo(t *testing.T, path, text string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.WriteString(text); err != nil {
		t.Fatal(err)
	}
}
