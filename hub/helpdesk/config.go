package helpdesk

import (
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/hub/tickets"
	"github.com/storewatch/storewatch/wire"
)

// None is the helpdesk name that means "no external helpdesk": the ticket
// lives only in the hub's built-in ticket list.
const None = "none"

// Config is the helpdesk section of the hub's configuration: the helpdesks
// to deliver to, the rules choosing one per incident, and the outbox.
type Config struct {
	// Namespace goes into every ticket's external id, so two hubs (test and
	// production) writing into one helpdesk never adopt each other's
	// tickets. Default "storewatch".
	Namespace string       `yaml:"namespace"`
	Helpdesks []Helpdesk   `yaml:"helpdesks"`
	Routing   Routing      `yaml:"routing"`
	Outbox    OutboxConfig `yaml:"outbox"`
}

// Helpdesk is one helpdesk: its name, its connector type, and the settings
// of that type, which the file gives in a section named after the type:
//
//   - name: redmine
//     type: redmine
//     redmine: {url: ..., api_key: ...}
type Helpdesk struct {
	Name string `yaml:"name"` // referred to by routing rules
	Type string `yaml:"type"` // a registered connector type: redmine, webhook, email, ...
	// Settings are the type's settings (a *redmine.Config, ...), decoded
	// from the section named after Type, or given in code.
	Settings Settings `yaml:"-"`
}

// UnmarshalYAML reads name and type, then the section named after the type
// into that connector type's settings, as strictly as the rest of the
// file. Sections of other types and unknown settings are mistakes.
func (h *Helpdesk) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.MappingNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: a helpdesk must be a section of key: value settings", n.Line)}}
	}
	*h = Helpdesk{}
	var msgs []string
	var sections []int // positions in n.Content of the keys naming connector types
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		var err error
		switch _, isType := Lookup(k.Value); {
		case k.Value == "name":
			err = v.Decode(&h.Name)
		case k.Value == "type":
			err = v.Decode(&h.Type)
		case isType:
			sections = append(sections, i)
		default:
			msgs = append(msgs, fmt.Sprintf("line %d: unknown setting %q (in a helpdesk: name, type and the section of its type, one of %s)", k.Line, k.Value, oneOf(Types())))
		}
		if err != nil {
			msgs = append(msgs, fmt.Sprintf("line %d: %s must be a single value", v.Line, k.Value))
		}
	}
	for _, i := range sections {
		k, v := n.Content[i], n.Content[i+1]
		if k.Value != h.Type {
			msgs = append(msgs, fmt.Sprintf("line %d: a helpdesk of type %q takes no %s section; give only the section of its type", k.Line, h.Type, k.Value))
			continue
		}
		info, _ := Lookup(h.Type)
		h.Settings = info.Settings()
		if err := config.DecodeNode(v, h.Settings, h.Type); err != nil {
			var te *yaml.TypeError
			if !errors.As(err, &te) {
				return err
			}
			msgs = append(msgs, te.Errors...)
		}
	}
	if len(msgs) > 0 {
		return &yaml.TypeError{Errors: msgs}
	}
	return nil
}

// Decode reads the helpdesk: section of the hub's file into c, as the hub
// does: strictly, with each mistake at its line, and with settings written
// ${NAME} taken from the environment, in the connectors' sections too.
func (c *Config) Decode(s config.Section) config.Errors {
	errs := s.Decode(c)
	for i, h := range c.Helpdesks {
		if h.Settings != nil {
			errs = append(errs, s.ExpandEnv(h.Settings, fmt.Sprintf("helpdesks[%d].%s", i, h.Type))...)
		}
	}
	return errs
}

// MarshalYAML writes a helpdesk as the file has it, its settings in the
// section named after its type.
func (h Helpdesk) MarshalYAML() (any, error) {
	out := map[string]any{"name": h.Name, "type": h.Type}
	if h.Settings != nil {
		out[h.Type] = h.Settings
	}
	return out, nil
}

// Routing chooses a destination per incident: the first rule that matches
// wins, else Default.
type Routing struct {
	Rules   []Rule `yaml:"rules"`
	Default Target `yaml:"default"` // without helpdesk: none
	Teams   []Team `yaml:"teams"`
}

// Target is where a ticket goes.
type Target struct {
	Helpdesk      string `yaml:"helpdesk"`       // a helpdesk's name, or "none"
	Project       string `yaml:"project"`        // Redmine project; an email address for email; empty: the helpdesk's default
	AssigneeGroup string `yaml:"assignee_group"` // Redmine: a name from assignees
	Language      string `yaml:"language"`       // ticket language; empty: the store's configured one
	// FollowTheSun names teams in order; the first whose working hours
	// cover the moment the ticket is opened takes it. When none does, the
	// target's own fields apply.
	FollowTheSun []string `yaml:"follow_the_sun"`
}

// Rule matches incidents; every list given must contain the incident's
// value (lists are ORs, fields are ANDs; an empty list matches anything).
type Rule struct {
	Name      string   `yaml:"name"`
	Tenants   []string `yaml:"tenants"`
	Stores    []string `yaml:"stores"`    // store ids, or tenant/store
	Countries []string `yaml:"countries"` // ISO codes: DE, AT
	Regions   []string `yaml:"regions"`
	TimeZones []string `yaml:"timezones"` // IANA names; "Europe/*" matches a prefix
	Kinds     []string `yaml:"kinds"`     // device kinds; "store" matches store-level incidents
	Faults    []string `yaml:"faults"`    // fault codes
	Remedies  []string `yaml:"remedies"`  // store, remote, dispatch
	Target    `yaml:",inline"`
}

// Team is a support team with working hours in its own time zone.
type Team struct {
	Name     string            `yaml:"name"`
	TimeZone string            `yaml:"timezone"`
	Hours    map[string]string `yaml:"hours"` // like store hours: {mon-fri: "08:00-18:00"}
	Target   `yaml:",inline"`  // where the team works; empty fields keep the rule's
}

// OutboxConfig tunes delivery.
type OutboxConfig struct {
	Path string `yaml:"path"` // bbolt file; required
	// Workers deliver calls for different tickets in parallel (calls of one
	// ticket are always one at a time, in order). Default 4.
	Workers int `yaml:"workers"`
	// RetryMin and RetryMax bound the exponential backoff (with jitter)
	// between attempts. Defaults 5s and 10m.
	RetryMin time.Duration `yaml:"retry_min"`
	RetryMax time.Duration `yaml:"retry_max"`
	// GiveUpAfter moves a call that kept failing to the dead-letter list.
	// Default 72h: a helpdesk down over a weekend still gets everything.
	GiveUpAfter time.Duration `yaml:"give_up_after"`
	// UpdateInterval is the least time between two update notes on one
	// ticket; updates in between are merged into one. Default 15m.
	UpdateInterval time.Duration `yaml:"update_interval"`
	// SyncInterval is how often open tickets are looked up in helpdesks that
	// can say their state, to notice a person closing one. Default 5m; a
	// negative value turns it off.
	SyncInterval time.Duration `yaml:"sync_interval"`
	// Keep is how long the record of a finished ticket is kept. Default 720h.
	Keep time.Duration `yaml:"keep"`
}

func (c *Config) applyDefaults() {
	if c.Namespace == "" {
		c.Namespace = "storewatch"
	}
	if c.Routing.Default.Helpdesk == "" {
		c.Routing.Default.Helpdesk = None
	}
	o := &c.Outbox
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	if o.Workers == 0 {
		o.Workers = 4
	}
	def(&o.RetryMin, 5*time.Second)
	def(&o.RetryMax, 10*time.Minute)
	def(&o.GiveUpAfter, 72*time.Hour)
	def(&o.UpdateInterval, 15*time.Minute)
	def(&o.SyncInterval, 5*time.Minute)
	def(&o.Keep, 720*time.Hour)
}

// Validate applies the defaults and reports every mistake, with paths
// relative to this section (helpdesks[0].redmine.url) and no file or line:
// the hub's loader prefixes the section's path and finds the line
// (config.Lines.Error).
func (c *Config) Validate() config.Errors { return c.validate(nil) }

// validate also accepts routes to the named connectors given in code
// (Options.Connectors).
func (c *Config) validate(extra []string) config.Errors {
	c.applyDefaults()
	var errs config.Errors
	bad := func(p, format string, args ...any) {
		errs = append(errs, config.Error{Path: p, Msg: fmt.Sprintf(format, args...)})
	}
	names := map[string]bool{None: true}
	for i, h := range c.Helpdesks {
		p := fmt.Sprintf("helpdesks[%d]", i)
		switch {
		case h.Name == "":
			bad(p+".name", "required: routing rules refer to the helpdesk by it")
		case h.Name == None:
			bad(p+".name", "%q is reserved for \"no external helpdesk\"", None)
		case names[h.Name]:
			bad(p+".name", "%q is used twice", h.Name)
		}
		names[h.Name] = true
		section := p + "." + h.Type
		switch _, known := Lookup(h.Type); {
		case !known:
			bad(p+".type", "%q: want %s", h.Type, oneOf(Types()))
		case h.Settings == nil:
			bad(section, "required for type %s", h.Type)
		default:
			h.Settings.Validate(func(path, format string, args ...any) { bad(section+"."+path, format, args...) })
		}
	}
	// Connectors given in code may replace a configured helpdesk's or add
	// one that routes can name.
	for _, n := range extra {
		names[n] = true
	}
	teams := map[string]bool{}
	for i, t := range c.Routing.Teams {
		p := fmt.Sprintf("routing.teams[%d]", i)
		if t.Name == "" {
			bad(p+".name", "required: follow_the_sun refers to the team by it")
		} else if teams[t.Name] {
			bad(p+".name", "%q is used twice", t.Name)
		}
		teams[t.Name] = true
		if _, err := time.LoadLocation(t.TimeZone); t.TimeZone == "" || err != nil {
			bad(p+".timezone", "%q: want an IANA time zone such as Asia/Manila", t.TimeZone)
		}
		if len(t.Hours) == 0 {
			bad(p+".hours", "required: the team's working hours, such as {mon-fri: \"08:00-17:00\"}")
		} else if _, err := wire.ParseTradingHours(t.Hours); err != nil {
			bad(p+".hours", "%v", err)
		}
		if len(t.FollowTheSun) > 0 {
			bad(p+".follow_the_sun", "a team cannot hand over to other teams")
		}
		c.validateTarget(p, t.Target, names, nil, bad, false)
	}
	for i, r := range c.Routing.Rules {
		p := fmt.Sprintf("routing.rules[%d]", i)
		if r.Helpdesk == "" && len(r.FollowTheSun) == 0 {
			bad(p+".helpdesk", "required: a helpdesk's name, or %q for the built-in ticket list only", None)
		}
		c.validateTarget(p, r.Target, names, teams, bad, true)
		for j, z := range r.TimeZones {
			if strings.HasSuffix(z, "/*") {
				continue
			}
			if _, err := time.LoadLocation(z); err != nil {
				bad(fmt.Sprintf("%s.timezones[%d]", p, j), "%q is not a time zone (use an IANA name, or a prefix such as Europe/*)", z)
			}
		}
		for j, k := range r.Kinds {
			if k != "store" && !slices.Contains(config.Kinds, k) {
				bad(fmt.Sprintf("%s.kinds[%d]", p, j), "%q: want one of %s, or store", k, strings.Join(config.Kinds, ", "))
			}
		}
		for j, f := range r.Faults {
			if !wire.FaultCode(f).Known() {
				bad(fmt.Sprintf("%s.faults[%d]", p, j), "%q is not a fault code", f)
			}
		}
		for j, m := range r.Remedies {
			if m != string(wire.RemedyStore) && m != string(wire.RemedyRemote) && m != string(wire.RemedyDispatch) {
				bad(fmt.Sprintf("%s.remedies[%d]", p, j), "%q: want store, remote or dispatch", m)
			}
		}
		for j, cc := range r.Countries {
			if len(cc) != 2 || strings.ToUpper(cc) != cc {
				bad(fmt.Sprintf("%s.countries[%d]", p, j), "%q: use the two-letter code, such as DE", cc)
			}
		}
	}
	c.validateTarget("routing.default", c.Routing.Default, names, teams, bad, true)
	o := c.Outbox
	if o.Path == "" {
		bad("outbox.path", "required: the outbox's bbolt file, such as /var/lib/storewatch/helpdesk.db")
	}
	if o.Workers < 1 || o.Workers > 64 {
		bad("outbox.workers", "%d: want 1 to 64", o.Workers)
	}
	if o.RetryMin <= 0 || o.RetryMax < o.RetryMin {
		bad("outbox.retry_max", "retry_min (%v) must be positive and not above retry_max (%v)", o.RetryMin, o.RetryMax)
	}
	for _, d := range []struct {
		p string
		v time.Duration
	}{{"outbox.give_up_after", o.GiveUpAfter}, {"outbox.update_interval", o.UpdateInterval}, {"outbox.keep", o.Keep}} {
		if d.v < 0 {
			bad(d.p, "%v: must not be negative", d.v)
		}
	}
	return errs
}

func (c *Config) validateTarget(p string, t Target, names, teams map[string]bool, bad func(string, string, ...any), rule bool) {
	if t.Helpdesk != "" && !names[t.Helpdesk] {
		bad(p+".helpdesk", "no helpdesk named %q (have %s)", t.Helpdesk, strings.Join(c.helpdeskNames(), ", "))
	}
	if t.Language != "" && !tickets.ValidLanguageCode(t.Language) {
		bad(p+".language", "%q is not a language code such as en, de or ru", t.Language)
	}
	for j, name := range t.FollowTheSun {
		if teams != nil && !teams[name] {
			bad(fmt.Sprintf("%s.follow_the_sun[%d]", p, j), "no team named %q under routing.teams", name)
		}
	}
	if h := c.helpdesk(t.Helpdesk); h != nil && h.Settings != nil {
		h.Settings.CheckTarget(t, func(path, format string, args ...any) { bad(p+"."+path, format, args...) })
	}
}

func (c *Config) helpdesk(name string) *Helpdesk {
	for i := range c.Helpdesks {
		if c.Helpdesks[i].Name == name {
			return &c.Helpdesks[i]
		}
	}
	return nil
}

func (c *Config) helpdeskNames() []string {
	out := []string{None}
	for _, h := range c.Helpdesks {
		out = append(out, h.Name)
	}
	return out
}

// CheckURL says what is wrong with a helpdesk's http:// or https:// URL.
func CheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	return nil
}

// matchZone reports whether a zone pattern (exact, or "Europe/*") matches.
func matchZone(pattern, zone string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(zone, prefix+"/")
	}
	return pattern == zone
}
