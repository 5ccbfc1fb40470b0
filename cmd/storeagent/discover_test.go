package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/lantest"
)

// discover --network scans a store network on loopback: it lists the
// devices with kind, driver, identity and an address to configure, and
// leaves alone the one the configuration monitors.
func TestDiscoverNetwork(t *testing.T) {
	s := lantest.New(t)
	cfg := writeConfig(t, fmt.Sprintf("  - {id: receipt-2, kind: receipt_printer, driver: escpos, address: 'tcp://%s:9100'}\n", s.Kept))
	args := []string{"discover", "--sysfs", t.TempDir(), "--network", s.Net.String(), "--rate", "200", "--timeout", "500ms", "--config", cfg}

	out, errOut, code := run(append(args, "--json")...)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	checkJSONStyle(t, "discover --network --json", out)
	var got discovered
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatal(err)
	}
	if got.Scan == nil || got.Scan.Scanned != 5 || got.Scan.Skipped != 1 || got.Scan.Networks[0] != s.Net.String() {
		t.Errorf("scan summary %+v, want 5 addresses scanned and the monitored one skipped", got.Scan)
	}
	byIP := map[string]foundJSON{}
	for _, f := range got.Found {
		if f.Network != nil {
			byIP[f.Network.IP] = f
		}
	}
	for _, w := range []struct{ ip, kind, driver, address, serial string }{
		{s.Receipt.String(), "receipt_printer", "escpos", "tcp://" + s.Receipt.String() + ":9100", "X5E1234567"},
		{s.Label.String(), "label_printer", "zpl", "tcp://" + s.Label.String() + ":9100", "D2J184502117"},
		{s.Terminal.String(), "payment_terminal", "zvt", "tcp://" + s.Terminal.String() + ":20007", "52500123"},
		{s.PC.String(), "pos_pc", "netprobe", "tcp://" + s.PC.String() + ":3389", ""},
	} {
		f, ok := byIP[w.ip]
		if !ok || f.Kind != w.kind || f.Driver != w.driver || f.Address != w.address || f.Serial != w.serial {
			t.Errorf("%s: %+v, want %s/%s at %s, serial %q", w.ip, f, w.kind, w.driver, w.address, w.serial)
		}
	}
	if _, ok := byIP[s.Kept.String()]; ok || len(byIP) != 4 {
		t.Errorf("found %d network devices (the monitored %s among them: %v):\n%s", len(byIP), s.Kept, ok, out)
	}

	out, errOut, code = run(args...)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{"label_printer", "tcp://" + s.Terminal.String() + ":20007", "5 addresses scanned, 1 left alone (monitored)"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestDiscoverNetworkRefusesLargeNetworks(t *testing.T) {
	for _, args := range [][]string{
		{"--network", "10.0.0.0/16"},
		{"--network", "10.0.0.0/24", "--ports", "9100,x"},
		{"--network", "10.0.0.0/24", "--rate", "10000"},
	} {
		_, errOut, code := run(append([]string{"discover", "--sysfs", t.TempDir(), "--config", ""}, args...)...)
		if code == cli.ExitOK || errOut == "" {
			t.Errorf("discover %v: exit %d, %q; want a refusal", args, code, errOut)
		}
	}
}
