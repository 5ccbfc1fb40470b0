package agent

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/agent/netscan"
	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/drivers/usbinv"
	"github.com/storewatch/storewatch/internal/testkit/lantest"
	"github.com/storewatch/storewatch/wire"
)

func TestUnmonitoredLeavesOutWhatIsConfigured(t *testing.T) {
	rep := usbinv.Report{Found: []usbinv.Found{
		{Device: &usbinv.Device{VID: 0x04b8, PID: 0x0e28, Serial: "X5Y6Z7"}, Recognition: usbinv.Recognition{Kind: "receipt_printer", Driver: "escpos",
			Vendor: "Epson", Model: "TM-T88VI", Address: "serial://?usb=04b8:0e28&usbserial=X5Y6Z7"}},
		{Device: &usbinv.Device{VID: 0x0403, PID: 0x6001, Serial: "A1B2"}, Port: "/dev/ttyUSB0", Recognition: usbinv.Recognition{Address: "serial://?usb=0403:6001&usbserial=A1B2"}},
		{Port: "/dev/ttyS0"},
		{Device: &usbinv.Device{VID: 0x05e0, PID: 0x1200}, Recognition: usbinv.Recognition{Kind: "scanner", Driver: "scanner", Address: "usb://05e0:1200"}},
	}}
	cfg := &config.Agent{Devices: []config.Device{
		{ID: "scale", Address: "serial:///dev/ttyUSB0?baud=9600"}, // by its port
		{ID: "scanner", Address: "usb://05E0:1200"},               // by its USB id
	}}
	got := Unmonitored(rep, cfg)
	if len(got) != 2 || got[0].Address != "serial://?usb=04b8:0e28&usbserial=X5Y6Z7" || got[0].Serial != "X5Y6Z7" || got[0].Kind != "receipt_printer" ||
		got[1].Address != "serial:///dev/ttyS0" {
		t.Fatalf("Unmonitored = %+v; want the printer and ttyS0", got)
	}
}

// The agent's discovery adds what answers on the store network, where the
// configuration allows a scan, and leaves out what it monitors.
func TestDiscoverScansAllowedNetworks(t *testing.T) {
	s := lantest.New(t)
	local := func(context.Context) (usbinv.Report, error) {
		return usbinv.Report{Found: []usbinv.Found{{Port: "/dev/ttyS0"}}}, nil
	}
	yaml := func(discovery string) string {
		return fmt.Sprintf("tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\n%s\ndevices:\n  - {id: receipt-2, kind: receipt_printer, driver: escpos, address: 'tcp://%s:9100'}\n", discovery, s.Kept)
	}
	scans := 0
	d := discoverer{local: local, scan: func(ctx context.Context, o netscan.Options) (netscan.Report, error) {
		scans++
		o.Rate, o.Timeout = config.MaxScanRate, 500*time.Millisecond
		return netscan.Scan(ctx, o)
	}}

	cfg, _ := load(t, yaml(""))
	a := &Agent{log: slog.New(slog.DiscardHandler), cfg: cfg}
	a.discover(context.Background(), d)
	if scans != 0 || len(a.found) != 1 || a.found[0].Address != "serial:///dev/ttyS0" {
		t.Fatalf("without discovery.networks: %d scans, found %+v; want no scan and ttyS0 only", scans, a.found)
	}

	a.cfg, _ = load(t, yaml(fmt.Sprintf("discovery: {networks: [%s]}", s.Net)))
	a.discover(context.Background(), d)
	want := map[string]string{
		"tcp://" + s.Receipt.String() + ":9100":   "escpos",
		"tcp://" + s.Label.String() + ":9100":     "zpl",
		"tcp://" + s.Terminal.String() + ":20007": "zvt",
		"tcp://" + s.PC.String() + ":3389":        "netprobe",
		"serial:///dev/ttyS0":                     "",
	}
	if scans != 1 || len(a.found) != len(want) {
		t.Fatalf("with discovery.networks: %d scans, found %+v", scans, a.found)
	}
	for _, f := range a.found {
		if drv, ok := want[f.Address]; !ok || f.Driver != drv {
			t.Errorf("found %+v, not expected", f)
		}
		if strings.Contains(f.Address, s.Kept.String()) {
			t.Errorf("the monitored printer is reported as found: %+v", f)
		}
	}
	// What the console's Add puts in the store's profile (id, kind,
	// driver, address) checks and builds as the agent's devices.
	var devs strings.Builder
	for i, f := range a.found {
		if f.Driver != "" {
			fmt.Fprintf(&devs, "  - {id: found-%d, kind: %s, driver: %s, address: '%s'}\n", i, f.Kind, f.Driver, f.Address)
		}
	}
	added, lines := load(t, "tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\ndevices:\n"+devs.String())
	if built, err := BuildDevices(added, lines, nil); err != nil || len(built) != 4 {
		t.Errorf("the found devices, added as the console adds them: %d built, %v\n%s", len(built), err, devs.String())
	}
	inv := Inventory(a.cfg, nil, "1")
	inv.Found, inv.Time = a.found, time.Now()
	if _, err := wire.Encode(&inv); err != nil {
		t.Errorf("the inventory with network finds does not encode: %v", err)
	}

	// The receipt printer added (from the console, by the hub's profile):
	// it leaves the finds as the configuration applies, before any scan.
	added, _ = load(t, yaml(fmt.Sprintf("discovery: {networks: [%s]}", s.Net))+
		fmt.Sprintf("  - {id: found-0, kind: receipt_printer, driver: escpos, address: 'tcp://%s:9100'}\n", s.Receipt))
	a.mu.Lock()
	a.cfg = added
	a.refound()
	a.mu.Unlock()
	for _, f := range a.found {
		if strings.Contains(f.Address, s.Receipt.String()) || len(a.found) != len(want)-1 {
			t.Errorf("after the receipt printer was added, found %+v", a.found)
			break
		}
	}

	// The scan no longer allowed (the hub's profile or the file changed):
	// its finds go.
	a.cfg, _ = load(t, yaml(""))
	a.discover(context.Background(), d)
	if scans != 1 || len(a.found) != 1 {
		t.Errorf("scan allowed no more: %d scans, found %+v", scans, a.found)
	}
}
