package main

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/internal/cli"
	"github.com/storewatch/storewatch/internal/testkit/lantest"
	"github.com/storewatch/storewatch/wire"
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

// config check says when the hub's configuration sets discovery:.
func TestConfigCheckSaysTheHubSetsDiscovery(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.yaml")
	local := fmt.Sprintf("tenant: acme\nstore: S0042\nagent: main\nsite: {timezone: UTC}\noutbox: {path: %s}\nremote: {hub_public_key: %s}\n",
		filepath.Join(dir, "outbox.db"), base64.StdEncoding.EncodeToString(pub))
	if err := os.WriteFile(file, []byte(local), 0o600); err != nil {
		t.Fatal(err)
	}
	now := time.Now().UTC()
	dc := &wire.DeviceConfig{Header: wire.Header{AgentID: wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "main"}, Time: now}, Issued: now,
		Profiles: []string{"store-network"}, Discovery: "networks: [10.0.42.0/24]\n"}
	dc.Version = dc.ContentVersion()
	dc.Signature = ed25519.Sign(priv, dc.SigningBytes())
	payload, err := wire.Encode(dc)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "hub-config.json"), payload, 0o600); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := run("config", "check", file)
	if code != cli.ExitOK || !strings.Contains(out, "the hub sets discovery: (networks scanned: 10.0.42.0/24)") {
		t.Errorf("exit %d\n%s%s", code, out, errOut)
	}
}
