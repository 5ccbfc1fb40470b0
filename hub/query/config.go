package query

import (
	"encoding/base64"
	"fmt"
	"log/slog"
	"time"

	"github.com/storewatch/storewatch/config"
)

// Config is the remote: section of the hub's configuration: remote device
// queries (storehub query, the API and the console's "Query now").
type Config struct {
	SigningKeyFile string        `yaml:"signing_key_file" doc:"PEM (PKCS #8) Ed25519 private key that signs queries; default data_dir/signing_key.pem, created (mode 0600) on first start"`
	SigningKey     string        `yaml:"signing_key" doc:"The private key as base64 (its 32-byte seed) instead of a file; better ${ENV_NAME}" secret:"true"`
	Timeout        time.Duration `yaml:"timeout" doc:"How long to wait for the agent's answer (default 10s)"`
	Expiry         time.Duration `yaml:"expiry" doc:"How long a signed request stays valid (default 30s; agents refuse more than 10m)"`
	PerMinute      int           `yaml:"per_minute" doc:"Queries per device and minute the hub sends (default 6; agents allow 12)"`
}

// Defaults of the remote: section.
const (
	DefaultSigningKeyFile = "signing_key.pem" // in the hub's data directory
	DefaultTimeout        = 10 * time.Second
	DefaultExpiry         = 30 * time.Second
	DefaultPerMinute      = 6
)

// Validate applies the defaults and reports every mistake, with paths
// relative to the section. The hub puts the key file in its data directory
// (DefaultSigningKeyFile) when neither key setting is given.
func (c *Config) Validate() config.Errors {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Expiry == 0 {
		c.Expiry = max(DefaultExpiry, c.Timeout)
	}
	if c.PerMinute == 0 {
		c.PerMinute = DefaultPerMinute
	}
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.SigningKey != "" && c.SigningKeyFile != "" {
		bad("signing_key", "give signing_key or signing_key_file, not both")
	}
	if c.SigningKey != "" {
		if b, err := base64.StdEncoding.DecodeString(c.SigningKey); err != nil || len(b) != 32 {
			bad("signing_key", "must be the base64 of a 32-byte Ed25519 seed")
		}
	}
	if c.Timeout < time.Second || c.Timeout > 5*time.Minute {
		bad("timeout", "must be between 1s and 5m")
	}
	if c.Expiry < c.Timeout || c.Expiry > 10*time.Minute {
		bad("expiry", "must be at least remote.timeout and at most 10m (agents refuse longer)")
	}
	if c.PerMinute < 1 || c.PerMinute > 600 {
		bad("per_minute", "must be between 1 and 600")
	}
	return errs
}

// Key returns the hub's signing key: the configured seed, or the key file,
// created on first use.
func (c Config) Key(log *slog.Logger) (*Key, error) {
	if c.SigningKey != "" {
		return KeyFromSeed(c.SigningKey)
	}
	k, created, err := LoadOrCreateKey(c.SigningKeyFile)
	if err != nil {
		return nil, err
	}
	if created && log != nil {
		log.Info("remote query signing key created; give agents its public key as remote.hub_public_key",
			"file", c.SigningKeyFile, "hub_public_key", k.PublicKey())
	}
	return k, nil
}
