package enrol

import (
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
)

// Config is the enrolment: section of the hub's configuration.
type Config struct {
	BrokerURLs  []string      `yaml:"broker_urls" doc:"The broker address(es) enrolled agents connect to, as they reach it: tls://hub.example.com:8883; enrolment is refused without"`
	CAFile      string        `yaml:"ca_file" doc:"PEM CA of the broker's certificate, handed to enrolling agents for tls:// URLs (not needed for a publicly trusted certificate)"`
	MaxTokenTTL time.Duration `yaml:"max_token_ttl" doc:"Longest validity of an enrolment token" default:"720h"`
	Mosquitto   Mosquitto     `yaml:"mosquitto" doc:"Files of an external Mosquitto the hub keeps up to date with every enrolment and revocation"`
}

// Mosquitto names the files the hub writes for an external Mosquitto.
type Mosquitto struct {
	ACLFile      string `yaml:"acl_file" doc:"Mosquitto acl_file the hub rewrites (storehub acl's content, enrolled agents included)"`
	PasswordFile string `yaml:"password_file" doc:"Mosquitto password_file the hub rewrites"`
	PIDFile      string `yaml:"pid_file" doc:"Mosquitto's pid_file: the hub sends that process SIGHUP after rewriting the files, so it reloads them"`
	HubUser      string `yaml:"hub_user" doc:"The MQTT user the hub connects to Mosquitto as" default:"storehub"`
	// The password file is rewritten whole, so the hub's own login is in it.
	HubPasswordHash string `yaml:"hub_password_hash" doc:"$7$ hash of the hub's own Mosquitto password (storehub passwd prints it), written into password_file with the agents'"`
}

// Defaults.
const (
	DefaultMaxTokenTTL = 30 * 24 * time.Hour
	DefaultTokenTTL    = 7 * 24 * time.Hour
	DefaultHubUser     = "storehub"
)

// Validate applies the defaults and reports every mistake.
func (c *Config) Validate() config.Errors {
	if c.MaxTokenTTL == 0 {
		c.MaxTokenTTL = DefaultMaxTokenTTL
	}
	if c.Mosquitto.HubUser == "" {
		c.Mosquitto.HubUser = DefaultHubUser
	}
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for i, raw := range c.BrokerURLs {
		if _, problem := config.BrokerURLProblem(raw, "the password enrolment issues"); problem != "" {
			bad(fmt.Sprintf("broker_urls[%d]", i), "%s", problem)
		}
	}
	if c.CAFile != "" {
		if b, err := os.ReadFile(c.CAFile); err != nil {
			bad("ca_file", "%v", err)
		} else if !strings.Contains(string(b), "-----BEGIN CERTIFICATE-----") {
			bad("ca_file", "%s holds no PEM certificate", c.CAFile)
		}
	}
	if c.MaxTokenTTL < time.Minute {
		bad("max_token_ttl", "must be at least 1m")
	}
	if (c.Mosquitto.ACLFile == "") != (c.Mosquitto.PasswordFile == "") {
		bad("mosquitto", "give both acl_file and password_file")
	}
	if c.Mosquitto.PasswordFile != "" && !strings.HasPrefix(c.Mosquitto.HubPasswordHash, "$7$") {
		bad("mosquitto.hub_password_hash", "required with password_file, as a $7$ hash (storehub passwd prints one): the file is rewritten whole")
	}
	if c.Mosquitto.PIDFile != "" && c.Mosquitto.ACLFile == "" {
		bad("mosquitto.pid_file", "a reload needs acl_file and password_file")
	}
	return errs
}
