package enrol

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// Pending is an enrolment to carry out at the service's start: given by
// the MSI's properties (storeagent enroll --later writes PendingFile) or
// by the deb's /etc/default/storeagent (the STOREWATCH_ENROLL_* variables).
type Pending struct {
	Hub    string `json:"hub"`
	Token  string `json:"token"`
	Store  string `json:"store"`
	Agent  string `json:"agent,omitempty"`
	CAFile string `json:"ca_file,omitempty"`
}

// The environment of a pending enrolment.
const (
	EnvURL    = "STOREWATCH_ENROLL_URL"
	EnvToken  = "STOREWATCH_ENROLL_TOKEN"
	EnvStore  = "STOREWATCH_ENROLL_STORE"
	EnvAgent  = "STOREWATCH_ENROLL_AGENT"
	EnvCAFile = "STOREWATCH_ENROLL_CA_FILE"
)

// PendingFile is where storeagent enroll --later leaves an enrolment for
// the service, beside the configuration file.
func PendingFile(configFile string) string {
	return filepath.Join(filepath.Dir(configFile), "enroll.pending")
}

// SecretFile is where the broker password goes, beside the configuration.
func SecretFile(configFile string) string {
	return filepath.Join(filepath.Dir(configFile), "broker-password")
}

// Check checks a pending enrolment's fields.
func (p Pending) Check() error {
	if p.Hub == "" || p.Token == "" || p.Store == "" {
		return errors.New("an enrolment needs the hub's address, a token and the store")
	}
	if p.Agent == "" {
		p.Agent = wire.DefaultAgentName
	}
	r := wire.EnrolRequest{V: wire.Version, Token: p.Token, Store: p.Store, Agent: p.Agent}
	return r.Validate()
}

// SavePending writes p for the service's next start, readable by the
// service only (it holds the token).
func SavePending(configFile string, p Pending) error {
	if err := p.Check(); err != nil {
		return err
	}
	b, err := json.Marshal(p)
	if err != nil {
		return err
	}
	return WriteSecret(PendingFile(configFile), b)
}

// LoadPending returns the enrolment waiting for this configuration: the
// pending file's, else the environment's (lookup), else none (nil).
func LoadPending(configFile string, lookup func(string) (string, bool)) (*Pending, error) {
	b, err := os.ReadFile(PendingFile(configFile))
	switch {
	case err == nil:
		var p Pending
		if err := json.Unmarshal(b, &p); err != nil {
			return nil, fmt.Errorf("%s: %w", PendingFile(configFile), err)
		}
		return &p, p.Check()
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	}
	get := func(k string) string { v, _ := lookup(k); return strings.TrimSpace(v) }
	if get(EnvToken) == "" {
		return nil, nil
	}
	p := Pending{Hub: get(EnvURL), Token: get(EnvToken), Store: get(EnvStore), Agent: get(EnvAgent), CAFile: get(EnvCAFile)}
	return &p, p.Check()
}

// Done removes the pending file once the enrolment it holds went through
// (or was refused for good: failed says why, kept beside it for support).
func Done(configFile string, failed error) error {
	f := PendingFile(configFile)
	if failed != nil {
		_ = os.WriteFile(f+".failed", []byte(failed.Error()+"\n"), 0o600)
	}
	if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	return nil
}
