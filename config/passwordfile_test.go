package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPasswordFileIsReadBesideTheConfiguration(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "agent.yaml")
	doc := "tenant: acme\nstore: S0042\nagent: main\nsite: {timezone: UTC}\nbroker:\n  urls: [tcp://hub:1883]\n  username: acme-S0042-main\n  password_file: broker-password\n"
	if err := os.WriteFile(filepath.Join(dir, "broker-password"), []byte("s3cret-s3cret-s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _, err := Parse(file, []byte(doc), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Broker.Password != "s3cret-s3cret-s3cret" || cfg.Broker.PasswordFile != filepath.Join(dir, "broker-password") {
		t.Fatalf("password %q from %q", cfg.Broker.Password, cfg.Broker.PasswordFile)
	}
	if r := cfg.Redacted(); r.Broker.Password != "REDACTED" {
		t.Fatalf("redacted: %q", r.Broker.Password)
	}
	// The environment still wins, as for a password in the file.
	cfg, _, err = Parse(file, []byte(doc), env(map[string]string{EnvBrokerPassword: "from-env"}))
	if err != nil || cfg.Broker.Password != "from-env" {
		t.Fatalf("with %s: %q, %v", EnvBrokerPassword, cfg.Broker.Password, err)
	}
	// A missing file is a mistake at its line.
	_, _, err = Parse(file, []byte(strings.Replace(doc, "broker-password", "nowhere", 1)), noEnv)
	if err == nil || !strings.Contains(err.Error(), "agent.yaml:8: broker.password_file") || !strings.Contains(err.Error(), "nowhere") {
		t.Fatalf("missing password file: %v", err)
	}
}
