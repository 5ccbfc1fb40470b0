package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

var hubEnv = env(map[string]string{
	"STOREHUB_VIEWER_TOKEN": "viewer-token-0123456789", "STOREHUB_ENGINEER_TOKEN": "engineer-token-0123456789",
	"STOREHUB_MQTT_PASSWORD": "pw",
})

func TestExampleHubConfigLoads(t *testing.T) {
	data, err := os.ReadFile("../packaging/examples/hub.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, _, err := ParseHub("hub.yaml", data, hubEnv)
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
	if strings.Contains(cfg.Redacted().API.Tokens[1].Token, "engineer-token") {
		t.Error("Redacted leaks a token")
	}
}

func TestHubConfigMistakes(t *testing.T) {
	base := "agents:\n  - {tenant: acme, store: s1, agent: a1, password_hash: $7$1$AA==$AA==}\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown key", base + "brokr: {}\n", `unknown setting "brokr"`},
		{"bad mode", base + "broker: {mode: cloud}\n", `broker.mode: unknown mode "cloud"`},
		{"plain password", "agents:\n  - {tenant: acme, store: s1, agent: a1, password_hash: secret}\n", "must be a $7$ PBKDF2-SHA512 hash"},
		{"duplicate user", base + "  - {tenant: acme, store: s2, agent: a1, username: acme-s1-a1, cert_cn: x}\n", `user "acme-s1-a1" is already used`},
		{"bad segment", "agents:\n  - {tenant: 'ac me', store: s1, agent: a1, cert_cn: x}\n", `agents[0].tenant`},
		{"unknown fault", base + "policy: {rules: {paper_gone: {hold_down: 1m}}}\n", `unknown fault code "paper_gone"`},
		{"unknown kind", base + "policy: {rules: {toaster/unreachable: {hold_down: 1m}}}\n", `unknown device kind "toaster"`},
		{"duration", base + "policy: {grace: 10}\n", `"10" is not a duration`},
		{"token role", base + "api: {tokens: [{name: x, role: god, token: 0123456789abcdef0}]}\n", `unknown role "god"`},
		{"short token", base + "api: {tokens: [{name: x, role: viewer, token: abc}]}\n", "too short"},
		{"sla calendar", base + "sla: {priorities: {P2: {response: 1h, resolution: 8h, calendar: nights}}}\n", `no calendar "nights"`},
		{"sla priority", base + "sla: {priorities: {P9: {response: 1h, resolution: 8h}}}\n", "want P1 to P5"},
		{"external without urls", "broker: {mode: external}\n", "broker.external.urls: required"},
		{"listen", base + "api: {listen: localhost}\n", "is not host:port"},
		{"signing key", base + "remote: {signing_key: abc}\n", "base64 of a 32-byte Ed25519 seed"},
		{"query expiry", base + "remote: {timeout: 20s, expiry: 10s}\n", "remote.expiry: must be at least remote.timeout"},
		{"query rate", base + "remote: {per_minute: 10000}\n", "remote.per_minute"},
		{"memory limit", base + "memory_limit: 8MiB\n", "memory_limit: 8MiB is too small for a hub"},
		{"memory limit unit", base + "memory_limit: lots\n", `"lots" is not a size`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := ParseHub("hub.yaml", []byte(c.yaml), noEnv)
			var errs Errors
			if !errors.As(err, &errs) {
				t.Fatalf("err = %v, want Errors", err)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("errors:\n%v\nwant one containing %q", err, c.want)
			}
		})
	}
}

// A hub without agents loads: a freshly installed hub starts, admitting
// nobody, until agents are added (packaging/linux/hub.yaml).
func TestHubWithoutAgentsLoads(t *testing.T) {
	cfg, _, err := ParseHub("hub.yaml", []byte("log: {level: info}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.Mode != "embedded" || cfg.Broker.Embedded.Listen != DefaultHubMQTTListen || len(cfg.Agents) != 0 {
		t.Errorf("broker %+v, agents %v", cfg.Broker, cfg.Agents)
	}
}

func TestHubConfigErrorsCarryLines(t *testing.T) {
	y := "agents:\n  - tenant: acme\n    store: s1\n    agent: a1\n    password_hash: plain\n"
	_, _, err := ParseHub("hub.yaml", []byte(y), noEnv)
	if err == nil || !strings.HasPrefix(err.Error(), "hub.yaml:5: agents[0].password_hash") {
		t.Fatalf("error %v, want it at line 5", err)
	}
}

func FuzzParseHub(f *testing.F) {
	if data, err := os.ReadFile("../packaging/examples/hub.yaml"); err == nil {
		f.Add(data)
	}
	f.Add([]byte("broker: {mode: external, external: {urls: [tcp://x:1]}}\n"))
	f.Add([]byte("policy: {rules: {scale/unreachable: {hold_down: 1m, on_recovery: comment}}}\nsla: {priorities: {p1: {response: 1m, resolution: 2m}}}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, _, err := ParseHub("fuzz.yaml", data, noEnv)
		if err == nil && cfg == nil {
			t.Fatal("no error and no config")
		}
		var errs Errors
		if err != nil && !errors.As(err, &errs) {
			t.Fatalf("error of type %T: %v", err, err)
		}
	})
}
