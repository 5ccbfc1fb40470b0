package broker

import (
	"fmt"
	"strings"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// Config is the broker: section of the hub's configuration: the embedded
// broker, or connections to external ones.
type Config struct {
	Mode     string         `yaml:"mode" doc:"embedded (default: the hub runs the broker) or external" enum:"embedded,external"`
	Embedded EmbeddedConfig `yaml:"embedded"`
	External ExternalConfig `yaml:"external"`
}

// EmbeddedConfig configures the in-process broker.
type EmbeddedConfig struct {
	Listen    string `yaml:"listen" doc:"Plain MQTT listener, e.g. :1883; empty for none"`
	TLSListen string `yaml:"tls_listen" doc:"MQTT over TLS listener, e.g. :8883"`
	TLSCert   string `yaml:"tls_cert" doc:"PEM server certificate for tls_listen"`
	TLSKey    string `yaml:"tls_key" doc:"PEM server key for tls_listen"`
	ClientCA  string `yaml:"client_ca" doc:"PEM CA of agent client certificates; agents may then authenticate by certificate"`
}

// ExternalConfig configures connections to Mosquitto, EMQX or HiveMQ.
type ExternalConfig struct {
	URLs       []string `yaml:"urls" doc:"Broker URLs, one connection each: tcp://host:1883, tls://host:8883; with a cluster: section, the nodes of one broker cluster (one connection, failing over)"`
	ClientID   string   `yaml:"client_id" doc:"Stable MQTT client id (a persistent session keeps messages while the hub is down)"`
	Username   string   `yaml:"username"`
	Password   string   `yaml:"password" doc:"better ${ENV_NAME}" secret:"true"`
	CAFile     string   `yaml:"ca_file"`
	CertFile   string   `yaml:"cert_file"`
	KeyFile    string   `yaml:"key_file"`
	ShareGroup string   `yaml:"share_group" doc:"Receive events and metrics through $share/<group>/ so several hub replicas split the work"`
}

// Defaults of the broker: section.
const (
	DefaultListen   = ":1883"
	DefaultClientID = "storehub"
)

// Validate applies the defaults and reports every mistake, with paths
// relative to the section.
func (c *Config) Validate() config.Errors {
	if c.Mode == "" {
		c.Mode = "embedded"
	}
	if c.Mode == "embedded" && c.Embedded.Listen == "" && c.Embedded.TLSListen == "" {
		c.Embedded.Listen = DefaultListen
	}
	if c.External.ClientID == "" {
		c.External.ClientID = DefaultClientID
	}
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	switch c.Mode {
	case "embedded":
		e := c.Embedded
		for _, l := range []struct{ path, addr string }{{"embedded.listen", e.Listen}, {"embedded.tls_listen", e.TLSListen}} {
			if err := config.CheckHostPort(l.addr); err != nil {
				bad(l.path, "%v", err)
			}
		}
		if e.TLSListen != "" && (e.TLSCert == "" || e.TLSKey == "") {
			bad("embedded.tls_listen", "a TLS listener needs tls_cert and tls_key")
		}
		if e.ClientCA != "" && e.TLSListen == "" {
			bad("embedded.client_ca", "client certificates need a tls_listen")
		}
		// No agents is allowed: a freshly installed hub runs, admitting
		// nobody, until agents are added (hub.Start warns).
	case "external":
		x := c.External
		if len(x.URLs) == 0 {
			bad("external.urls", "required: at least one broker URL such as tcp://mosquitto:1883")
		}
		for i, raw := range x.URLs {
			if _, problem := config.BrokerURLProblem(raw, "broker.external.username and password"); problem != "" {
				bad(fmt.Sprintf("external.urls[%d]", i), "%s", problem)
			}
		}
		if err := wire.ValidateSegment(x.ClientID); err != nil {
			bad("external.client_id", "%v", err)
		}
		if x.ShareGroup != "" {
			if err := wire.ValidateSegment(x.ShareGroup); err != nil {
				bad("external.share_group", "%v", err)
			}
		}
		if (x.CertFile == "") != (x.KeyFile == "") {
			bad("external.cert_file", "a client certificate needs both cert_file and key_file")
		}
	default:
		bad("mode", "unknown mode %q (embedded or external)", c.Mode)
	}
	return errs
}

// Agent is one agent's credentials and subtree: an entry of the agents:
// section.
type Agent struct {
	Tenant       string `yaml:"tenant" required:"true"`
	Store        string `yaml:"store" required:"true"`
	Agent        string `yaml:"agent" required:"true"`
	Username     string `yaml:"username" doc:"MQTT user name (default tenant-store-agent)"`
	PasswordHash string `yaml:"password_hash" doc:"Mosquitto-compatible $7$ PBKDF2-SHA512 hash, as printed by storehub passwd or mosquitto_passwd"`
	CertCN       string `yaml:"cert_cn" doc:"Common name of the agent's client certificate, if it authenticates by certificate"`
}

// User returns the agent's MQTT user name.
func (a Agent) User() string {
	if a.Username != "" {
		return a.Username
	}
	return a.Tenant + "-" + a.Store + "-" + a.Agent
}

// Agents is the agents: section of the hub's configuration.
type Agents []Agent

// Validate reports every mistake, with paths relative to the section
// ([0].tenant).
func (as Agents) Validate() config.Errors {
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	users := map[string]int{}
	ids := map[string]int{}
	for i, a := range as {
		p := fmt.Sprintf("[%d]", i)
		for _, f := range []struct{ path, v string }{{"tenant", a.Tenant}, {"store", a.Store}, {"agent", a.Agent}} {
			if f.v == "" {
				bad(p+"."+f.path, "required")
			} else if err := wire.ValidateSegment(f.v); err != nil {
				bad(p+"."+f.path, "%v", err)
			}
		}
		id := a.Tenant + "/" + a.Store + "/" + a.Agent
		if j, dup := ids[id]; dup {
			bad(p, "%s is already given by agents[%d]", id, j)
		} else {
			ids[id] = i
		}
		if j, dup := users[a.User()]; dup {
			bad(p+".username", "user %q is already used by agents[%d]; one user per agent keeps ACLs exact", a.User(), j)
		} else {
			users[a.User()] = i
		}
		if strings.ContainsAny(a.User(), ":# \t") {
			bad(p+".username", "%q may not contain ':', '#' or spaces (Mosquitto password and ACL files)", a.User())
		}
		if a.PasswordHash == "" && a.CertCN == "" {
			bad(p, "give password_hash (storehub passwd prints one) or cert_cn")
		}
		if a.PasswordHash != "" && !strings.HasPrefix(a.PasswordHash, "$7$") {
			bad(p+".password_hash", "must be a $7$ PBKDF2-SHA512 hash (storehub passwd or mosquitto_passwd print one), never the password")
		}
	}
	return errs
}
