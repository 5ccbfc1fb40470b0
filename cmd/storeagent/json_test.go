package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/internal/cli"
)

// checkJSONStyle checks what every --json of storeagent promises
// (README.md, Commands): snake_case keys, no nulls.
func checkJSONStyle(t *testing.T, what, out string) {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("%s: not JSON: %v\n%s", what, err, out)
	}
	snake := regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case nil:
			t.Errorf("%s: %s is null", what, path)
		case map[string]any:
			for k, c := range x {
				if !snake.MatchString(k) && path != "$.identity.extra" {
					t.Errorf("%s: key %q at %s is not snake_case", what, k, path)
				}
				walk(path+"."+k, c)
			}
		case []any:
			for i, c := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), c)
			}
		}
	}
	walk("$", v)
}

func TestDevicesJSONSaysKindDriverLocationAndTime(t *testing.T) {
	cfg := writeConfig(t, fmt.Sprintf(`  - id: pos-lane1
    kind: pos_pc
    driver: netprobe
    address: tcp://%s
    location: lane 1
`, listening(t)))
	out, errOut, code := run("devices", "--config", cfg, "--json")
	if code != cli.ExitOK {
		t.Fatalf("exit %d\n%s%s", code, out, errOut)
	}
	checkJSONStyle(t, "devices --json", out)
	var rows []struct {
		ID, Kind, Driver, Location, State string
		TookMS                            float64 `json:"took_ms"`
	}
	if err := json.Unmarshal([]byte(out), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 || rows[0].Kind != "pos_pc" || rows[0].Driver != "netprobe" || rows[0].Location != "lane 1" || rows[0].State != "ok" {
		t.Errorf("devices --json: %+v\n%s", rows, out)
	}
	if len(rows) == 1 && rows[0].TookMS <= 0 {
		t.Errorf("took_ms %v: a probe that ran took some time\n%s", rows[0].TookMS, out)
	}
}

func TestDiscoverJSONStyle(t *testing.T) {
	for _, c := range []struct {
		name string
		rep  usbinv.Report
		want []string
	}{
		{"nothing found", usbinv.Report{}, []string{`"found": []`}},
		{"a USB printer and a plain port", usbinv.Report{Found: []usbinv.Found{
			{Device: &usbinv.Device{Path: "1-1.2", VID: 0x04b8, PID: 0x0e28, Serial: "X5E1", Manufacturer: "EPSON", Product: "TM-T88VI"},
				Recognition: usbinv.Recognition{Vendor: "EPSON", Kind: "receipt_printer", Model: "TM-T88VI", Driver: "escpos", Address: "usb://04b8:0e28?serial=X5E1"}},
			{Port: "/dev/ttyS0", Recognition: usbinv.Recognition{Kind: "serial_port", Address: "serial:///dev/ttyS0", Note: "RS-232 port"}},
		}, Problems: []string{"listing USB devices: permission denied"}},
			[]string{`"kind": "receipt_printer"`, `"id": "04b8:0e28"`, `"driver": "escpos"`, `"port": "/dev/ttyS0"`, `"problems": [`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := writeJSON(&b, discoverJSON(c.rep)); err != nil {
				t.Fatal(err)
			}
			checkJSONStyle(t, "discover --json", b.String())
			for _, w := range c.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("lacks %s:\n%s", w, b.String())
				}
			}
		})
	}
}
