package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"time"
)

// DeviceConfig is the device configuration the hub manages for one agent
// (its device profiles, rendered with the store's values), signed like a
// remote query and published retained on the agent's config channel, so
// an agent gets the latest at every connect. The agent checks the
// signature, checks Devices as strictly as a local agent.yaml, applies it
// without a restart, and reports the version it runs (or why it did not
// apply) in its heartbeat (Heartbeat.Config).
type DeviceConfig struct {
	Header
	// Version names this configuration: ContentVersion, "hub-" and 12 hex
	// digits of the SHA-256 of Devices (and Discovery, when set).
	Version string `json:"version"`
	// Issued orders configurations: an agent refuses one issued before
	// the one it runs (a replayed older message).
	Issued time.Time `json:"issued"`
	// Profiles names the profiles it was made from, for people.
	Profiles []string `json:"profiles,omitempty"`
	// Devices is the devices: section as YAML, exactly as a local
	// agent.yaml would hold it (a list of devices); empty: the hub
	// manages no device of this agent any more.
	Devices string `json:"devices"`
	// Discovery is the discovery: section as YAML, exactly as a local
	// agent.yaml would hold it (a mapping: the store networks the agent
	// may scan, and how gently); empty: the hub does not set it.
	Discovery string `json:"discovery,omitempty"`
	Signature []byte `json:"sig,omitempty"` // Ed25519 over SigningBytes
}

// ContentVersion names a configuration by its content: "hub-" and 12 hex
// digits of the SHA-256 of Devices, followed, when Discovery is set, by a
// NUL byte and Discovery (so a configuration without Discovery keeps the
// version it had before Discovery existed).
func (c *DeviceConfig) ContentVersion() string {
	h := sha256.New()
	h.Write([]byte(c.Devices))
	if c.Discovery != "" {
		h.Write([]byte{0})
		h.Write([]byte(c.Discovery))
	}
	return "hub-" + hex.EncodeToString(h.Sum(nil)[:6])
}

// SigningBytes is the canonical form the hub signs and the agent verifies:
// the message's JSON encoding as Encode writes it, without the signature.
func (c DeviceConfig) SigningBytes() []byte {
	c.Signature = nil
	c.V, c.Type = Version, TypeConfig
	b, err := json.Marshal(c)
	if err != nil {
		panic("wire: cannot encode device configuration: " + err.Error())
	}
	return b
}

// MaxConfigDevices bounds the YAML of a pushed configuration's devices,
// MaxConfigDiscovery that of its discovery: section.
const (
	MaxConfigDevices   = 128 << 10
	MaxConfigDiscovery = 8 << 10
)

func (m *DeviceConfig) validate() error {
	if err := m.Header.validate(false); err != nil {
		return err
	}
	if !strings.HasPrefix(m.Version, "hub-") || len(m.Version) > 64 {
		return invalid("version", "%q: want hub- and a digest", m.Version)
	}
	if m.Issued.IsZero() {
		return invalid("issued", "missing")
	}
	if len(m.Devices) > MaxConfigDevices {
		return invalid("devices", "%d bytes, limit %d", len(m.Devices), MaxConfigDevices)
	}
	if len(m.Discovery) > MaxConfigDiscovery {
		return invalid("discovery", "%d bytes, limit %d", len(m.Discovery), MaxConfigDiscovery)
	}
	if len(m.Signature) == 0 {
		return invalid("sig", "missing: configuration from the hub is always signed")
	}
	return nil
}
