package hub

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/broker"
)

func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

var noEnv = env(nil)

func TestExampleHubConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../packaging/examples/hub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := ParseConfig("hub.yaml", data, env(map[string]string{
		"STOREHUB_VIEWER_TOKEN": "viewer-token-0123456789", "STOREHUB_ENGINEER_TOKEN": "engineer-token-0123456789",
		"STOREHUB_MQTT_PASSWORD": "pw",
	}))
	if err != nil {
		t.Fatalf("the shipped example hub config does not load:\n%v", err)
	}
	if cfg.Broker.Mode != "embedded" || cfg.Broker.Embedded.Listen != ":1883" || len(cfg.Agents) != 2 {
		t.Errorf("broker %+v, %d agents", cfg.Broker, len(cfg.Agents))
	}
	if cfg.Agents[0].User() != "acme-s0042-backoffice-1" || cfg.Agents[1].User() != "acme-s0043" {
		t.Errorf("user names: %q %q", cfg.Agents[0].User(), cfg.Agents[1].User())
	}
	if d := cfg.Policy.Rules["paper_out"].HoldDown; d == nil || *d != 3*time.Minute {
		t.Errorf("paper_out hold-down override: %v", d)
	}
	if cfg.MemoryLimit != 768<<20 {
		t.Errorf("memory_limit = %s, want 768MiB", cfg.MemoryLimit)
	}
	if cfg.API.Tokens[0].Token != "viewer-token-0123456789" {
		t.Errorf("token from the environment: %q", cfg.API.Tokens[0].Token)
	}
}

// A hub without agents loads: a freshly installed hub starts, admitting
// nobody, until agents are added (packaging/linux/hub.yaml). Every section
// has its defaults.
func TestHubWithoutAgentsLoads(t *testing.T) {
	cfg, err := ParseConfig("hub.yaml", []byte("log: {level: info}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.Mode != "embedded" || cfg.Broker.Embedded.Listen != broker.DefaultListen || len(cfg.Agents) != 0 {
		t.Errorf("broker %+v, agents %v", cfg.Broker, cfg.Agents)
	}
	if _, err := ParseConfig("hub.yaml", []byte("api: {public_url: 'https://storehub.example.com'}\n"), noEnv); err != nil {
		t.Error(err)
	}
	if cfg.API.Listen != "127.0.0.1:8080" || cfg.Remote.SigningKeyFile != "/var/lib/storehub/signing_key.pem" || cfg.Remote.Expiry != 30*time.Second {
		t.Errorf("api %+v, remote %+v", cfg.API, cfg.Remote)
	}
}

// Each section is checked by the part that owns it, and its mistakes come
// back as the file's own do: every one, with its path and line, in the order
// of the lines.
func TestSectionMistakesAreTheFilesMistakes(t *testing.T) {
	base := "agents:\n  - {tenant: acme, store: s1, agent: a1, password_hash: $7$1$AA==$AA==}\n"
	for _, c := range []struct{ name, yaml, want string }{
		{"bad mode", base + "broker: {mode: cloud}\n", `hub.yaml:3: broker.mode: unknown mode "cloud"`},
		{"plain password", "agents:\n  - {tenant: acme, store: s1, agent: a1, password_hash: secret}\n", "hub.yaml:2: agents[0].password_hash: must be a $7$ PBKDF2-SHA512 hash"},
		{"duplicate user", base + "  - {tenant: acme, store: s2, agent: a1, username: acme-s1-a1, cert_cn: x}\n", `agents[1].username: user "acme-s1-a1" is already used`},
		{"bad segment", "agents:\n  - {tenant: 'ac me', store: s1, agent: a1, cert_cn: x}\n", `agents[0].tenant`},
		{"unknown fault", base + "policy: {rules: {paper_gone: {hold_down: 1m}}}\n", `policy.rules.paper_gone: unknown fault code "paper_gone"`},
		{"unknown kind", base + "policy: {rules: {toaster/unreachable: {hold_down: 1m}}}\n", `unknown device kind "toaster"`},
		{"duration", base + "policy: {grace: 10}\n", `"10" is not a duration`},
		{"unknown policy setting", base + "policy: {graze: 10m}\n", `unknown setting "graze"`},
		{"token role", base + "api: {tokens: [{name: x, role: god, token: 0123456789abcdef0}]}\n", `api.tokens[0].role: unknown role "god"`},
		{"short token", base + "api: {tokens: [{name: x, role: viewer, token: abc}]}\n", "too short"},
		{"sla calendar", base + "sla: {priorities: {P2: {response: 1h, resolution: 8h, calendar: nights}}}\n", `no calendar "nights"`},
		{"sla priority", base + "sla: {priorities: {P9: {response: 1h, resolution: 8h}}}\n", "want P1 to P5"},
		{"external without urls", "broker: {mode: external}\n", "broker.external.urls: required"},
		{"listen", base + "api: {listen: localhost}\n", "api.listen: \"localhost\" is not host:port"},
		{"signing key", base + "remote: {signing_key: abc}\n", "base64 of a 32-byte Ed25519 seed"},
		{"query expiry", base + "remote: {timeout: 20s, expiry: 10s}\n", "remote.expiry: must be at least remote.timeout"},
		{"query rate", base + "remote: {per_minute: 10000}\n", "remote.per_minute"},
		{"the file's own and a section's", "memory_limit: 8MiB\n" + base + "broker: {mode: cloud}\n",
			"at least 64MiB\nhub.yaml:4: broker.mode"},
		{"public url", base + "api: {public_url: storehub.example.com}\n", "api.public_url"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := ParseConfig("hub.yaml", []byte(c.yaml), noEnv)
			var errs config.Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want config.Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant one containing %q", err, c.want)
			}
		})
	}
}

// Start refuses a configuration that was not checked.
func TestStartNeedsACheckedConfig(t *testing.T) {
	if _, err := Start(t.Context(), &Config{DataDir: t.TempDir()}, nil); err == nil {
		t.Error("Start took an unchecked configuration")
	}
}

func FuzzParseConfig(f *testing.F) {
	if data, err := os.ReadFile("../packaging/examples/hub.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("broker: {mode: external, external: {urls: [tcp://x:1]}}\n"))
	f.Add([]byte("policy: {rules: {scale/unreachable: {hold_down: 1m, on_recovery: comment}}}\nsla: {priorities: {p1: {response: 1m, resolution: 2m}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig("fuzz.yaml", data, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("no error and no config")
		}
	})
}
