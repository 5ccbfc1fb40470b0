//go:build wine

package wintest

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/internal/testkit/wine"
	"github.com/storewatch/storewatch/wire"
)

// A receipt printer on COM3: the emulator serves a pseudo-terminal on
// Linux, Wine's serial driver makes it COM3, and storeagent.exe speaks
// ESC/POS to it through Windows' serial API at 9600 8N1, byte for byte.
// discover lists the port, from where Windows lists serial ports.
func TestSerialCOMPort(t *testing.T) {
	p := wine.Use(t)
	installAgent(t, p)
	printer := escpos.New()
	p.MapCOM(t, "COM3", simtest.PTY(t, printer))
	writeFile(t, p, agentYAML, agentConfig("",
		"{id: receipt-1, kind: receipt_printer, driver: escpos, address: 'serial://COM3?baud=9600', location: lane 1}"))

	r := must(t, p.Run(t, agentExe, "devices", "--json"), 0, "devices --json")
	var rows []struct {
		ID       string
		State    wire.HealthState
		Faults   []wire.Fault
		Identity *wire.Identity
	}
	if err := json.Unmarshal([]byte(r.Stdout), &rows); err != nil || len(rows) != 1 {
		t.Fatalf("devices --json: %v\n%s", err, r.Stdout)
	}
	if rows[0].State != wire.StateOK || rows[0].Identity == nil || rows[0].Identity.Serial != escpos.DefaultIdentity.Serial {
		t.Errorf("receipt-1 on COM3: %+v", rows[0])
	}
	printer.Switchboard().Set(escpos.CoverOpen, true)
	r = must(t, p.Run(t, agentExe, "devices"), 0, "devices")
	if !strings.Contains(r.Stdout, "cover_open") {
		t.Errorf("devices with the cover open:\n%s", r.Stdout)
	}

	r = must(t, p.Run(t, agentExe, "discover", "--json"), 0, "discover --json")
	var rep usbinv.Report
	if err := json.Unmarshal([]byte(r.Stdout), &rep); err != nil {
		t.Fatalf("discover --json: %v\n%s", err, r.Stdout)
	}
	found := false
	for _, f := range rep.Found {
		if f.Port == "COM3" {
			found = f.Address == "serial://COM3" && f.Kind == "serial_port"
		}
	}
	if !found {
		t.Errorf("discover does not offer serial://COM3:\n%s", r.Stdout)
	}
	if r := must(t, p.Run(t, agentExe, "discover"), 0, "discover"); !strings.Contains(r.Stdout, "serial://COM3") {
		t.Errorf("discover's table lacks serial://COM3:\n%s", r.Stdout)
	}
}
