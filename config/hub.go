package config

import (
	"fmt"
	"os"
	"time"
)

// Hub is the whole storehub configuration file. The hub's own settings are
// here; every other section belongs to the part of the hub that uses it,
// which defines it, decodes it (Section.Decode) and checks it: api (hub/api),
// broker and agents (hub/broker), policy (hub/incident), sla (hub/sla),
// store (hub/store), tickets (hub/tickets), helpdesk (hub/helpdesk),
// remote (hub/query), enrolment (hub/enrol) and cluster (hub/cluster).
// hub.LoadConfig reads the file with all of them.
type Hub struct {
	DataDir      string        `yaml:"data_dir" doc:"Directory for the ticket store (hub.db, with the default bolt store)"`
	LogRetention time.Duration `yaml:"log_retention" doc:"How long the event log (for reports) is kept; default 9600h (400 days)"`
	MemoryLimit  ByteSize      `yaml:"memory_limit" doc:"Soft limit of the Go runtime's memory (debug.SetMemoryLimit), e.g. 768MiB: the heap is collected harder near it instead of growing to twice the live data; 3/4 of the memory set aside for storehub, or that memory less the size hub.db will reach if that is less (the file is mapped into the process); none by default; the GOMEMLIMIT environment variable wins"`
	Log          Log           `yaml:"log" doc:"Logging"`
	API          Section       `yaml:"api" doc:"The HTTP API and /metrics (hub/api)"`
	Broker       Section       `yaml:"broker" doc:"Where agents' messages come from: the embedded broker or external ones (hub/broker)"`
	Agents       Section       `yaml:"agents" doc:"Agents allowed to connect to the embedded broker, and their subtree (hub/broker)"`
	Policy       Section       `yaml:"policy" doc:"Incident policy: hold-downs, grace, flapping, chronic problems (hub/incident)"`
	SLA          Section       `yaml:"sla" doc:"Response and resolution targets per priority, counted in calendars (hub/sla)"`
	Store        Section       `yaml:"store" doc:"Where tickets, the event log and the notification stream live: bolt (data_dir/hub.db, the default) or postgres with a dsn (hub/store; docs/hub.md)"`
	Tickets      Section       `yaml:"tickets" doc:"Ticket texts: language per tenant and store, overrides, runbooks (docs/helpdesk.md)"`
	Helpdesk     Section       `yaml:"helpdesk" doc:"External helpdesks (Redmine, webhook, email), routing and the delivery outbox; without it tickets stay in the hub's built-in list (docs/helpdesk.md)"`
	Remote       Section       `yaml:"remote" doc:"Remote device queries: the key that signs them, timeouts and limits (hub/query)"`
	Enrolment    Section       `yaml:"enrolment" doc:"Enrolment of store PCs with tokens: the broker address handed to them, token limits, the Mosquitto files kept up to date (hub/enrol)"`
	Cluster      Section       `yaml:"cluster" doc:"Several hub replicas sharing the work over a postgres store and external brokers: partitions, leases (hub/cluster; docs/hub.md)"`
}

// Hub defaults.
const (
	DefaultHubDataDirUnix = "/var/lib/storehub"
	DefaultLogRetention   = 400 * 24 * time.Hour
	MinMemoryLimit        = ByteSize(64 << 20)
)

// LoadHub reads the hub configuration at path and checks the hub's own
// settings; the sections are their parts' to check (hub.LoadConfig).
func LoadHub(path string) (*Hub, *Lines, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return ParseHub(path, data, os.LookupEnv)
}

// ParseHub checks a hub configuration held in memory. The file is returned
// with its mistakes, so that the sections can be checked too.
func ParseHub(file string, data []byte, lookupEnv func(string) (string, bool)) (*Hub, *Lines, error) {
	if errs := otherProgramError(file, data, "storehub"); errs != nil {
		return nil, &Lines{file: file, lines: map[string]int{}}, errs
	}
	var cfg Hub
	lines, errs, fatal := decodeStrict(file, data, &cfg, lookupEnv)
	if fatal {
		return nil, lines, errs
	}
	cfg.applyDefaults()
	for path, s := range map[string]*Section{
		"api": &cfg.API, "broker": &cfg.Broker, "agents": &cfg.Agents, "policy": &cfg.Policy, "sla": &cfg.SLA,
		"store": &cfg.Store, "tickets": &cfg.Tickets, "helpdesk": &cfg.Helpdesk, "remote": &cfg.Remote,
		"enrolment": &cfg.Enrolment,
		"cluster":   &cfg.Cluster,
	} {
		s.bind(path, lines, lookupEnv)
	}
	return finish(&cfg, lines, append(errs, cfg.validate(lines)...))
}

func (c *Hub) applyDefaults() {
	if c.DataDir == "" {
		c.DataDir = DefaultHubDataDirUnix
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if c.LogRetention == 0 {
		c.LogRetention = DefaultLogRetention
	}
}

func (c *Hub) validate(l *Lines) Errors {
	var errs Errors
	bad := func(path, format string, args ...any) { errs = append(errs, l.Error(path, format, args...)) }
	if !oneOf(c.Log.Level, []string{"debug", "info", "warn", "error"}) {
		bad("log.level", "unknown level %q (debug, info, warn or error)", c.Log.Level)
	}
	if !oneOf(c.Log.Format, []string{"text", "json"}) {
		bad("log.format", "unknown format %q (text or json)", c.Log.Format)
	}
	if c.MemoryLimit != 0 && c.MemoryLimit < MinMemoryLimit {
		bad("memory_limit", "%s is too small for a hub; at least %s", c.MemoryLimit, MinMemoryLimit)
	}
	if c.LogRetention < 24*time.Hour {
		bad("log_retention", "must be at least 24h")
	}
	return errs
}
