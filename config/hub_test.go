package config

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func TestHubConfigMistakes(t *testing.T) {
	base := "agents:\n  - {tenant: acme, store: s1, agent: a1, password_hash: $7$1$AA==$AA==}\n"
	cases := []struct{ name, yaml, want string }{
		{"unknown key", base + "brokr: {}\n", `unknown setting "brokr"`},
		{"log level", base + "log: {level: chatty}\n", `log.level: unknown level "chatty"`},
		{"retention", base + "log_retention: 1h\n", "log_retention: must be at least 24h"},
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

// The sections are kept for their owners, unread: mistakes in them are not
// the file's (hub.LoadConfig checks them), and a hub without them loads.
func TestHubSectionsAreTheirOwners(t *testing.T) {
	cfg, _, err := ParseHub("hub.yaml", []byte("broker: {mode: cloud}\napi: {listen: x}\n"), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Broker.Given() || !cfg.API.Given() || cfg.Agents.Given() {
		t.Errorf("sections given: broker %v, api %v, agents %v", cfg.Broker.Given(), cfg.API.Given(), cfg.Agents.Given())
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
