package agent

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// The hub may manage part of an agent's devices: its device profiles,
// rendered for the store, arrive signed on the agent's config channel
// (wire.DeviceConfig). The agent checks the signature with
// remote.hub_public_key, appends the devices to those of its local
// agent.yaml and checks the whole exactly as `config check` checks a file
// (a device id in both is a mistake), builds the devices, and only then
// swaps its polling over to them, keeping the outbox and the connection.
// A configuration that fails any of this is not applied: the agent keeps
// the last good one and reports why in its heartbeat. The last good one
// is kept beside the outbox (HubConfigFile) for the next start.

// HubConfigFile is where the last good configuration from the hub is kept.
func HubConfigFile(cfg *config.Agent) string {
	return filepath.Join(filepath.Dir(cfg.Outbox.Path), "hub-config.json")
}

// ConfigVersion names devices YAML as the hub does: "hub-" and 12 hex
// digits of its SHA-256 (wire.DeviceConfig.ContentVersion, without
// discovery).
func ConfigVersion(devices string) string {
	return (&wire.DeviceConfig{Devices: devices}).ContentVersion()
}

// VerifyHubConfig decodes a configuration message strictly and checks
// that the hub signed it for this agent, and that it is not older than
// the one the agent runs (after; zero: none).
func VerifyHubConfig(payload []byte, id wire.AgentID, hubKey string, after time.Time) (*wire.DeviceConfig, error) {
	dc, err := wire.Decode[wire.DeviceConfig](payload)
	if err != nil {
		return nil, err
	}
	if hubKey == "" {
		return dc, errors.New("remote.hub_public_key is not set: configuration from the hub cannot be checked, so it is refused")
	}
	key, err := base64.StdEncoding.DecodeString(hubKey)
	if err != nil || len(key) != ed25519.PublicKeySize {
		return dc, errors.New("remote.hub_public_key is not a base64 Ed25519 public key")
	}
	if !ed25519.Verify(key, dc.SigningBytes(), dc.Signature) {
		return dc, errors.New("bad signature: not signed by this agent's hub")
	}
	if dc.AgentID != id {
		return dc, fmt.Errorf("configuration for %s, this is %s", dc.AgentID, id)
	}
	if dc.Version != dc.ContentVersion() {
		return dc, fmt.Errorf("version %s does not match its devices and discovery", dc.Version)
	}
	if !after.IsZero() && dc.Issued.Before(after) {
		return dc, fmt.Errorf("issued %s, before the configuration the agent runs (%s): an old message", dc.Issued.Format(time.RFC3339), after.Format(time.RFC3339))
	}
	return dc, nil
}

// MergeHubDevices returns the local configuration file with the hub's
// devices appended to its devices: list, so that the whole is checked as
// one file.
func MergeHubDevices(local []byte, devicesYAML string) ([]byte, error) {
	return MergeHubConfig(local, devicesYAML, "")
}

// MergeHubConfig is MergeHubDevices, and the hub's discovery: section
// (discoveryYAML, a mapping) set in the file. The local file may not set
// discovery: too: which store networks are scanned is said in one place.
func MergeHubConfig(local []byte, devicesYAML, discoveryYAML string) ([]byte, error) {
	if strings.TrimSpace(devicesYAML) == "" && strings.TrimSpace(discoveryYAML) == "" {
		return local, nil
	}
	var disc *yaml.Node
	if strings.TrimSpace(discoveryYAML) != "" {
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(discoveryYAML), &n); err != nil {
			return nil, fmt.Errorf("discovery from the hub: %w", err)
		}
		if n.Kind != yaml.DocumentNode || len(n.Content) != 1 || n.Content[0].Kind != yaml.MappingNode {
			return nil, errors.New("discovery from the hub: not a mapping of settings")
		}
		disc = n.Content[0]
	}
	if strings.TrimSpace(devicesYAML) == "" {
		devicesYAML = "[]"
	}
	var hub yaml.Node
	if err := yaml.Unmarshal([]byte(devicesYAML), &hub); err != nil {
		return nil, fmt.Errorf("devices from the hub: %w", err)
	}
	if hub.Kind != yaml.DocumentNode || len(hub.Content) != 1 || hub.Content[0].Kind != yaml.SequenceNode {
		return nil, errors.New("devices from the hub: not a list of devices")
	}
	for _, d := range hub.Content[0].Content {
		if d.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(d.Content); i += 2 {
				if d.Content[i].Value == "tap" {
					return nil, fmt.Errorf("devices from the hub: line %d: a serial tap is configured in the local agent.yaml only", d.Content[i].Line)
				}
			}
		}
	}
	var root yaml.Node
	if err := yaml.Unmarshal(local, &root); err != nil {
		return nil, err
	}
	if root.Kind != yaml.DocumentNode || len(root.Content) != 1 || root.Content[0].Kind != yaml.MappingNode {
		return nil, errors.New("the local configuration is not a mapping of settings")
	}
	m := root.Content[0]
	var devs *yaml.Node
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "devices" {
			devs = m.Content[i+1]
		}
	}
	if devs == nil {
		devs = &yaml.Node{Kind: yaml.SequenceNode}
		m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "devices"}, devs)
	}
	if devs.Kind == yaml.ScalarNode && devs.Tag == "!!null" {
		*devs = yaml.Node{Kind: yaml.SequenceNode}
	}
	if devs.Kind != yaml.SequenceNode {
		return nil, errors.New("the local devices: is not a list")
	}
	devs.Style = 0 // block style, whatever the local file used
	devs.Content = append(devs.Content, hub.Content[0].Content...)
	if disc != nil {
		for i := 0; i+1 < len(m.Content); i += 2 {
			if v := m.Content[i+1]; m.Content[i].Value == "discovery" && v.Tag != "!!null" && !(v.Kind == yaml.MappingNode && len(v.Content) == 0) {
				return nil, fmt.Errorf("line %d: discovery: is set here and by the hub's profiles; remove it from %s", m.Content[i].Line, "the local file")
			}
		}
		kept := m.Content[:0]
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value != "discovery" {
				kept = append(kept, m.Content[i], m.Content[i+1])
			}
		}
		disc.Style = 0
		m.Content = append(kept, &yaml.Node{Kind: yaml.ScalarNode, Value: "discovery"}, disc)
	}
	return config.EncodeYAML(&root)
}

// HubConfigured is a local configuration with the hub's devices merged
// in and checked.
type HubConfigured struct {
	Config *config.Agent
	Lines  *config.Lines
	Hub    *wire.DeviceConfig
}

// ApplyHubConfig checks dc against the local file (file, as read: local)
// like config check does, the devices built as the agent would build
// them. The error says what is wrong, in the terms of the pushed devices.
func ApplyHubConfig(file string, local []byte, dc *wire.DeviceConfig) (*HubConfigured, error) {
	merged, err := MergeHubConfig(local, dc.Devices, dc.Discovery)
	if err != nil {
		return nil, err
	}
	cfg, lines, err := config.Parse(file, merged, os.LookupEnv)
	if err == nil {
		_, err = BuildDevices(cfg, lines, nil)
	}
	if err != nil {
		return nil, fmt.Errorf("with the hub's devices, %s would not check: %s", filepath.Base(file), strings.TrimSpace(err.Error()))
	}
	return &HubConfigured{Config: cfg, Lines: lines, Hub: dc}, nil
}

// SavedHubConfig reads the last good configuration from the hub kept
// beside the outbox; nil when there is none.
func SavedHubConfig(cfg *config.Agent) ([]byte, error) {
	b, err := os.ReadFile(HubConfigFile(cfg))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// saveHubConfig keeps payload as the last good configuration.
func saveHubConfig(cfg *config.Agent, payload []byte) error {
	path := HubConfigFile(cfg)
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, payload, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
