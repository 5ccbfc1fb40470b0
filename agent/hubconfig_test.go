package agent

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

var hubID = wire.AgentID{Tenant: "acme", Store: "S0042", Agent: "main"}

// signed makes a configuration message the way the hub does.
func signed(t *testing.T, priv ed25519.PrivateKey, id wire.AgentID, devices string, issued time.Time) []byte {
	t.Helper()
	dc := &wire.DeviceConfig{Header: wire.Header{AgentID: id, Time: issued}, Version: ConfigVersion(devices), Issued: issued, Devices: devices}
	dc.Signature = ed25519.Sign(priv, dc.SigningBytes())
	b, err := wire.Encode(dc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

const pushedDevices = "- {id: receipt-lane3, kind: pos_pc, driver: netprobe, address: 'tcp://127.0.0.1:9100', location: lane 3}\n"

func TestHubConfigIsCheckedLikeALocalFile(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	_, other, _ := ed25519.GenerateKey(nil)
	key := base64.StdEncoding.EncodeToString(pub)
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	local := []byte("tenant: acme\nstore: S0042\nagent: main\nsite: {timezone: UTC}\ndevices:\n  - {id: scale-1, kind: scale, driver: sics, address: 'tcp://127.0.0.1:4001'}\n")
	file := filepath.Join(t.TempDir(), "agent.yaml")

	dc, err := VerifyHubConfig(signed(t, priv, hubID, pushedDevices, t0), hubID, key, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := ApplyHubConfig(file, local, dc)
	if err != nil {
		t.Fatal(err)
	}
	if len(hc.Config.Devices) != 2 || hc.Config.Devices[0].ID != "scale-1" || hc.Config.Devices[1].ID != "receipt-lane3" ||
		hc.Config.Devices[1].Interval == 0 {
		t.Fatalf("merged devices: %+v", hc.Config.Devices)
	}

	for _, c := range []struct {
		name, want string
		payload    []byte
		key        string
		after      time.Time
	}{
		{"signed by someone else", "bad signature", signed(t, other, hubID, pushedDevices, t0), key, time.Time{}},
		{"for another agent", "configuration for acme/S0043/main", signed(t, priv, wire.AgentID{Tenant: "acme", Store: "S0043", Agent: "main"}, pushedDevices, t0), key, time.Time{}},
		{"older than the one running", "an old message", signed(t, priv, hubID, pushedDevices, t0), key, t0.Add(time.Second)},
		{"no hub key", "remote.hub_public_key is not set", signed(t, priv, hubID, pushedDevices, t0), "", time.Time{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := VerifyHubConfig(c.payload, hubID, c.key, c.after)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want %q", err, c.want)
			}
		})
	}
	if _, err := VerifyHubConfig([]byte(`{"v":1,"type":"config"}`), hubID, key, time.Time{}); !errors.Is(err, wire.ErrInvalid) {
		t.Fatalf("a malformed message: %v", err)
	}

	for _, c := range []struct{ name, devices, want string }{
		{"an id the local file has", "- {id: scale-1, kind: scale, driver: sics, address: 'tcp://127.0.0.1:4002'}\n", "scale-1"},
		{"an unknown setting", "- {id: x1, kind: scale, driver: sics, address: 'tcp://127.0.0.1:4002', baud: 9600}\n", "baud"},
		{"an unknown driver", "- {id: x1, kind: scale, driver: nope, address: 'tcp://127.0.0.1:4002'}\n", "nope"},
		{"a serial tap", "- {id: x1, kind: scale, driver: sics, address: 'serial:///dev/ttyS0', tap: {virtual_port: /dev/ttyPOS0}}\n", "local agent.yaml only"},
		{"not a list", "id: x1\n", "not a list"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dc, err := VerifyHubConfig(signed(t, priv, hubID, c.devices, t0), hubID, key, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := ApplyHubConfig(file, local, dc); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want it to name %q", err, c.want)
			}
		})
	}
}

// At start the agent runs the last good configuration the hub sent, kept
// beside the outbox, with its local file; one that no longer applies with
// the file is left out, and the agent runs the file alone.
func TestAgentStartsWithTheLastGoodHubConfig(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.yaml")
	local := fmt.Sprintf("tenant: acme\nstore: S0042\nagent: main\nsite: {timezone: UTC}\noutbox: {path: %s}\nremote: {hub_public_key: %s}\n"+
		"devices:\n  - {id: scale-1, kind: scale, driver: sics, address: 'tcp://127.0.0.1:4001'}\n",
		filepath.Join(dir, "outbox.db"), base64.StdEncoding.EncodeToString(pub))
	if err := os.WriteFile(file, []byte(local), 0o644); err != nil {
		t.Fatal(err)
	}
	start := func() []string {
		cfg, lines, err := config.Load(file)
		if err != nil {
			t.Fatal(err)
		}
		a, err := New(cfg, lines, Options{Sink: LogSink{Log: slog.New(slog.DiscardHandler)}, ConfigFile: file})
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, s := range a.Collector().States() {
			ids = append(ids, s.ID)
		}
		return ids
	}
	if got := start(); len(got) != 1 {
		t.Fatalf("without a saved configuration: %v", got)
	}
	cfg, _, _ := config.Load(file)
	if err := os.WriteFile(HubConfigFile(cfg), signed(t, priv, hubID, pushedDevices, time.Now()), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := start(); len(got) != 2 || got[1] != "receipt-lane3" {
		t.Fatalf("with the saved configuration: %v", got)
	}
	// The local file now has a device of the same id: the saved one no
	// longer applies.
	clash := strings.Replace(local, "id: scale-1", "id: receipt-lane3", 1)
	if err := os.WriteFile(file, []byte(clash), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := start(); len(got) != 1 {
		t.Fatalf("with a saved configuration that clashes: %v", got)
	}
}

// The hub's profiles may set discovery: (the store networks the agent may
// scan): checked like the local file's, refused when the local file sets
// it too, and part of the signed version.
func TestHubConfigSetsDiscovery(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(nil)
	key := base64.StdEncoding.EncodeToString(pub)
	t0 := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	file := filepath.Join(t.TempDir(), "agent.yaml")
	sign := func(devices, discovery string) []byte {
		dc := &wire.DeviceConfig{Header: wire.Header{AgentID: hubID, Time: t0}, Issued: t0, Devices: devices, Discovery: discovery}
		dc.Version = dc.ContentVersion()
		dc.Signature = ed25519.Sign(priv, dc.SigningBytes())
		b, err := wire.Encode(dc)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	local := []byte("tenant: acme\nstore: S0042\nagent: main\nsite: {timezone: UTC}\n")
	for _, c := range []struct {
		name, local, devices, discovery, want string
	}{
		{"networks from the hub", "", "", "networks: [192.168.42.0/24]\nrate: 10\n", ""},
		{"with devices", "", pushedDevices, "networks: [192.168.42.0/24]\n", ""},
		{"local discovery: {} is no setting", "discovery: {}\n", "", "networks: [192.168.42.0/24]\n", ""},
		{"too large a network", "", "", "networks: [10.0.0.0/16]\n", "discovery.networks[0]"},
		{"unknown setting", "", "", "subnets: [192.168.42.0/24]\n", "subnets"},
		{"not a mapping", "", "", "- 192.168.42.0/24\n", "not a mapping"},
		{"set in both places", "discovery: {networks: [10.1.0.0/24]}\n", "", "networks: [192.168.42.0/24]\n", "discovery: is set here and by the hub"},
	} {
		t.Run(c.name, func(t *testing.T) {
			dc, err := VerifyHubConfig(sign(c.devices, c.discovery), hubID, key, time.Time{})
			if err != nil {
				t.Fatal(err)
			}
			hc, err := ApplyHubConfig(file, append(append([]byte(nil), local...), c.local...), dc)
			if c.want != "" {
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("got %v, want an error with %q", err, c.want)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if d := hc.Config.Discovery; len(d.Networks) != 1 || d.Networks[0] != "192.168.42.0/24" || len(d.Ports) != len(config.DefaultScanPorts) {
				t.Errorf("discovery after the hub's: %+v", d)
			}
		})
	}
	// A discovery changed in transit fails the version (and the signature).
	payload := strings.Replace(string(sign("", "networks: [192.168.42.0/24]\n")), "192.168.42.0", "192.168.43.0", 1)
	if _, err := VerifyHubConfig([]byte(payload), hubID, key, time.Time{}); err == nil {
		t.Error("a discovery changed after signing was accepted")
	}
}
