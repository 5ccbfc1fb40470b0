package profiles

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func loadFile(t *testing.T, name string) *Profile {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(data)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// A profile may allow the agents it applies to to scan their store
// networks: discovery: is a template like devices:, checked as strictly.
func TestProfileSetsDiscovery(t *testing.T) {
	p := loadFile(t, "store-network.yaml")
	got, err := p.RenderDiscovery("S0042")
	if err != nil || !strings.Contains(got, "10.0.42.0/24") || !strings.Contains(got, "rate: 10") {
		t.Fatalf("discovery for S0042: %q, %v", got, err)
	}
	if none, err := loadProfile(t).RenderDiscovery("S0042"); none != "" || err != nil {
		t.Errorf("a profile without discovery renders %q, %v", none, err)
	}

	id := wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "main"}
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	entries := []Entry{{Profile: *loadProfile(t)}, {Profile: *p}}
	dc, ok, err := configFor(id, entries, now)
	if err != nil || !ok {
		t.Fatal(ok, err)
	}
	if !strings.Contains(dc.Discovery, "10.0.42.0/24") || !strings.Contains(dc.Devices, "id: router") || !strings.Contains(dc.Devices, "receipt-lane3") {
		t.Errorf("configuration for %s: %+v", id, dc)
	}
	if dc.Version != dc.ContentVersion() || dc.Version == Version(dc.Devices) {
		t.Errorf("version %s does not name the discovery settings (devices alone: %s)", dc.Version, Version(dc.Devices))
	}
	if _, err := wire.Encode(&wire.DeviceConfig{Header: dc.Header, Version: dc.Version, Issued: dc.Issued, Devices: dc.Devices,
		Discovery: dc.Discovery, Signature: []byte{1}}); err != nil {
		t.Errorf("does not encode: %v", err)
	}

	// Two profiles that set discovery for one agent: which one?
	other := *p
	other.Name = "store-network-2"
	other.Devices = strings.ReplaceAll(other.Devices, "router", "router2")
	if _, _, err := configFor(id, append(entries, Entry{Profile: other}), now); err == nil || !strings.Contains(err.Error(), "both set discovery") {
		t.Errorf("two profiles with discovery: %v", err)
	}
}

func TestBadDiscoveryIsRefused(t *testing.T) {
	refused(t, "store-network.yaml", []mistake{
		{"too large a network", `S0042: {lan: 10.0.42.0/24`, `S0042: {lan: 10.0.0.0/16`, "discovery.networks[0]"},
		{"not a network address", `S0043: {lan: 10.0.43.0/24`, `S0043: {lan: 10.0.43.7/24`, "did you mean 10.0.43.0/24"},
		{"unknown setting", "rate: 10", "speed: 10", "speed"},
		{"a list", "discovery:\n  networks: [\"{{.lan}}\"]\n  ports: [9100, 20007, 3389]\n  rate: 10", "discovery:\n  - \"{{.lan}}\"", "want the discovery settings"},
		{"value missing", `S0043: {lan: 10.0.43.0/24, gw: 10.0.43.1}`, `S0043: {gw: 10.0.43.1}`, "lan"},
		{"template mistake", `"{{.lan}}"`, `"{{.lan"`, "discovery"},
	})
}
