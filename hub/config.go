package hub

import (
	"errors"
	"fmt"
	"path/filepath"
	"sort"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/broker"
	"github.com/storewatch/storewatch/hub/cluster"
	"github.com/storewatch/storewatch/hub/enrol"
	"github.com/storewatch/storewatch/hub/helpdesk"
	_ "github.com/storewatch/storewatch/hub/helpdesk/all" // the connectors a helpdesk's type names
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/hub/tickets"
)

// Config is storehub's configuration: the file's own settings (config.Hub)
// and every section, decoded and checked by the part of the hub that owns
// it, with each mistake at its line.
type Config struct {
	DataDir      string
	LogRetention time.Duration
	MemoryLimit  config.ByteSize
	Log          config.Log

	API      api.Config            // api:
	Broker   broker.Config         // broker:
	Agents   broker.Agents         // agents:
	Policy   incident.PolicyConfig // policy:
	SLA      sla.Config            // sla:
	Remote   query.Config          // remote:
	Store    store.Config          // store:
	Tickets  tickets.Config        // tickets:
	Helpdesk *helpdesk.Config      // helpdesk:; nil: the built-in ticket list only
	Enrol    enrol.Config          // enrolment:
	Cluster  *cluster.Config       // cluster:; nil: the only replica

	checked bool // by LoadConfig or ParseConfig
}

// LoadConfig reads the hub's configuration file: storehub serve, config
// check and install use it, so that what the hub would refuse is refused
// before it opens anything.
func LoadConfig(path string) (*Config, error) {
	cfg, _, err := config.LoadHub(path)
	return decode(cfg, err)
}

// ParseConfig reads a configuration held in memory, with the environment
// lookupEnv for ${NAME} settings.
func ParseConfig(file string, data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	cfg, _, err := config.ParseHub(file, data, lookupEnv)
	return decode(cfg, err)
}

// decode decodes and checks the sections of a parsed file; err is what the
// parse found (config.Errors), reported with the sections' mistakes, in the
// order of their lines.
func decode(cfg *config.Hub, err error) (*Config, error) {
	var errs config.Errors
	if err != nil && (cfg == nil || !errors.As(err, &errs)) {
		return nil, err // the file could not be read as YAML at all
	}
	c := &Config{DataDir: cfg.DataDir, LogRetention: cfg.LogRetention, MemoryLimit: cfg.MemoryLimit, Log: cfg.Log}
	section := func(s config.Section, out interface{ Validate() config.Errors }) {
		errs = append(errs, s.Decode(out)...)
		errs = append(errs, s.Errors(out.Validate())...)
	}
	section(cfg.API, &c.API)
	section(cfg.Broker, &c.Broker)
	section(cfg.Agents, &c.Agents)
	section(cfg.Policy, &c.Policy)
	section(cfg.SLA, &c.SLA)
	errs = append(errs, cfg.Remote.Decode(&c.Remote)...)
	if c.Remote.SigningKeyFile == "" && c.Remote.SigningKey == "" {
		c.Remote.SigningKeyFile = filepath.Join(c.DataDir, query.DefaultSigningKeyFile)
	}
	errs = append(errs, cfg.Remote.Errors(c.Remote.Validate())...)
	var serr error
	if c.Store, serr = store.LoadConfig(cfg.Store); serr != nil {
		var se config.Errors
		if !errors.As(serr, &se) {
			return nil, serr
		}
		errs = append(errs, se...)
	} else if c.Store.Type == store.TypePostgres {
		if err := postgres.CheckDSN(c.Store.DSN); err != nil {
			errs = append(errs, cfg.Store.Errors(config.Errors{{Path: "dsn", Msg: err.Error()}})...)
		}
	}
	section(cfg.Tickets, &c.Tickets)
	section(cfg.Enrolment, &c.Enrol)
	if cfg.Helpdesk.Given() {
		c.Helpdesk = &helpdesk.Config{}
		errs = append(errs, c.Helpdesk.Decode(cfg.Helpdesk)...)
		if c.Helpdesk.Outbox.Path == "" {
			c.Helpdesk.Outbox.Path = filepath.Join(c.DataDir, "helpdesk.db")
		}
		errs = append(errs, cfg.Helpdesk.Errors(c.Helpdesk.Validate())...)
	}
	if cfg.Cluster.Given() {
		c.Cluster = &cluster.Config{}
		section(cfg.Cluster, c.Cluster)
		var mistakes config.Errors
		if c.Store.Type != store.TypePostgres {
			mistakes = append(mistakes, config.Error{Msg: "several replicas need the postgres store (store: type: postgres)"})
		}
		if c.Broker.Mode != "external" {
			mistakes = append(mistakes, config.Error{Msg: "several replicas need external brokers (broker: mode: external): each partition is a session there"})
		}
		if c.Cluster.APIURL == "" {
			if c.Cluster.APIURL = cluster.DefaultAPIURL(c.API.Listen, c.API.TLSCert != ""); c.Cluster.APIURL == "" {
				mistakes = append(mistakes, config.Error{Path: "api_url", Msg: fmt.Sprintf(
					"required: api.listen %q names no address the other replicas can reach them at (they forward incident actions to the partition's holder)", c.API.Listen)})
			}
		}
		errs = append(errs, cfg.Cluster.Errors(mistakes)...)
	}
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return nil, errs
	}
	c.checked = true
	return c, nil
}

// Check checks what Start would refuse in a loaded configuration beyond
// the sections' settings, before it opens anything: the SLA calendars
// resolved, and the ticket texts loaded when there is a helpdesk. storehub
// install and storehub config check use it, so that a service is not
// installed only to fail at its first start.
func Check(c *Config) error {
	_, _, err := c.prepare()
	return err
}

// prepare returns the engine's SLA targets and, with a helpdesk, the ticket
// texts.
func (c *Config) prepare() (sla.Targets, *tickets.Catalog, error) {
	if !c.checked {
		return nil, nil, errors.New("hub: the configuration was not checked (LoadConfig or ParseConfig)")
	}
	targets, err := c.SLA.Targets()
	if err != nil {
		return nil, nil, err
	}
	if c.Helpdesk == nil {
		return targets, nil, nil
	}
	cat, err := tickets.Load(c.Tickets)
	return targets, cat, err
}
