package helpdesk

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/mail"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

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

// Helpdesk is one connector instance; exactly one of the type sections is
// set, matching Type.
type Helpdesk struct {
	Name    string         `yaml:"name"` // referred to by routing rules
	Type    string         `yaml:"type"` // redmine, webhook or email
	Redmine *RedmineConfig `yaml:"redmine"`
	Webhook *WebhookConfig `yaml:"webhook"`
	Email   *EmailConfig   `yaml:"email"`
}

// RedmineConfig describes a Redmine and how tickets map onto it.
type RedmineConfig struct {
	URL    string `yaml:"url"`     // https://redmine.example.com (a sub-path is kept)
	APIKey string `yaml:"api_key"` // a user's API key; prefer ${ENV} in the file
	// Project is the default project (identifier or numeric id); a routing
	// rule's project overrides it.
	Project   string `yaml:"project"`
	TrackerID int    `yaml:"tracker_id"`
	// Priorities maps storewatch priorities (1 critical ... 5 planning) to
	// Redmine priority ids (instance-specific: GET /enumerations/issue_priorities.json).
	Priorities map[int]int `yaml:"priorities"`
	// CustomFields are Redmine custom field ids. external_id is required: a
	// string field, enabled for the tracker, "used as a filter", that the
	// outbox searches before every create.
	CustomFields RedmineFields `yaml:"custom_fields"`
	// Statuses are the instance's status ids (GET /issue_statuses.json).
	Statuses RedmineStatuses `yaml:"statuses"`
	// Assignees maps routing assignee groups to Redmine user or group ids
	// (assigning to groups needs Redmine's "Allow issue assignment to
	// groups").
	Assignees map[string]int `yaml:"assignees"`
	Timeout   time.Duration  `yaml:"timeout"` // per request; default 30s
}

// RedmineFields are custom field ids; 0 leaves a field out.
type RedmineFields struct {
	ExternalID int `yaml:"external_id"`
	Store      int `yaml:"store"`
	Device     int `yaml:"device"`
	Serial     int `yaml:"serial"`
	Model      int `yaml:"model"`
	Fault      int `yaml:"fault"`
}

// RedmineStatuses are the status ids the outbox sets and recognises.
type RedmineStatuses struct {
	// Resolved is set when a device recovered and the incident's policy
	// says close ("Resolved", 3, on a default install). Required.
	Resolved int `yaml:"resolved"`
	// Closed is set when the incident is closed in the hub ("Closed", 5).
	// Required.
	Closed int `yaml:"closed"`
	// Rejected lists statuses that mean a person rejected the ticket
	// ("Rejected", 6); any other closed status set by a person counts as
	// closed.
	Rejected []int `yaml:"rejected"`
}

// WebhookConfig posts Standard Webhooks signed JSON to a URL.
type WebhookConfig struct {
	URL string `yaml:"url"`
	// Secret is "whsec_" followed by base64 of 24 to 64 random bytes; the
	// receiver verifies webhook-signature with it.
	Secret  string            `yaml:"secret"`
	Headers map[string]string `yaml:"headers"` // extra headers, e.g. Authorization for the receiver
	Timeout time.Duration     `yaml:"timeout"` // default 30s
}

// EmailConfig sends tickets as mail, the channel every helpdesk ingests.
type EmailConfig struct {
	Server string `yaml:"server"` // host:port of the SMTP server (submission, usually 587)
	// TLS is "starttls" (default: upgrade before AUTH, refuse servers that
	// cannot), "tls" (implicit TLS, port 465) or "none" (only for a relay on
	// the same host).
	TLS      string   `yaml:"tls"`
	CAFile   string   `yaml:"ca_file"` // trust this CA instead of the system's
	Username string   `yaml:"username"`
	Password string   `yaml:"password"`
	From     string   `yaml:"from"` // storewatch@example.com
	To       []string `yaml:"to"`   // the helpdesk's intake address(es); a rule's project that is an address replaces them
	// Domain is the right-hand side of Message-IDs; default the From
	// address's domain.
	Domain  string        `yaml:"domain"`
	Timeout time.Duration `yaml:"timeout"` // default 30s
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
	for _, h := range c.Helpdesks {
		switch {
		case h.Redmine != nil:
			def(&h.Redmine.Timeout, 30*time.Second)
		case h.Webhook != nil:
			def(&h.Webhook.Timeout, 30*time.Second)
		case h.Email != nil:
			def(&h.Email.Timeout, 30*time.Second)
			if h.Email.TLS == "" {
				h.Email.TLS = "starttls"
			}
			if h.Email.Domain == "" {
				if a, err := mail.ParseAddress(h.Email.From); err == nil {
					_, h.Email.Domain, _ = strings.Cut(a.Address, "@")
				}
			}
		}
	}
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
	for _, n := range extra {
		names[n] = true
	}
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
		sections := 0
		for _, set := range []bool{h.Redmine != nil, h.Webhook != nil, h.Email != nil} {
			if set {
				sections++
			}
		}
		if sections > 1 {
			bad(p, "give only the section of its type (%s)", h.Type)
		}
		switch h.Type {
		case "redmine":
			if h.Redmine == nil {
				bad(p+".redmine", "required for type redmine")
			} else {
				h.Redmine.validate(p+".redmine", bad)
			}
		case "webhook":
			if h.Webhook == nil {
				bad(p+".webhook", "required for type webhook")
			} else {
				h.Webhook.validate(p+".webhook", bad)
			}
		case "email":
			if h.Email == nil {
				bad(p+".email", "required for type email")
			} else {
				h.Email.validate(p+".email", bad)
			}
		default:
			bad(p+".type", "%q: want redmine, webhook or email", h.Type)
		}
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
	if t.AssigneeGroup != "" && t.Helpdesk != "" {
		if h := c.helpdesk(t.Helpdesk); h != nil && h.Redmine != nil {
			if _, ok := h.Redmine.Assignees[t.AssigneeGroup]; !ok {
				bad(p+".assignee_group", "%q is not under helpdesk %s's redmine.assignees", t.AssigneeGroup, t.Helpdesk)
			}
		}
	}
	if t.Project != "" && t.Helpdesk != "" {
		if h := c.helpdesk(t.Helpdesk); h != nil && h.Email != nil {
			if _, err := mail.ParseAddress(t.Project); err != nil {
				bad(p+".project", "%q: for an email helpdesk the project is the address to send to", t.Project)
			}
		}
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

func validURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	return nil
}

func (r *RedmineConfig) validate(p string, bad func(string, string, ...any)) {
	if err := validURL(r.URL); err != nil {
		bad(p+".url", "%v", err)
	}
	if r.APIKey == "" {
		bad(p+".api_key", "required: the API key of the user storewatch acts as (My account → API access key)")
	}
	if r.Project == "" {
		bad(p+".project", "required: the default project's identifier or id")
	}
	if r.TrackerID <= 0 {
		bad(p+".tracker_id", "required: the tracker id for new tickets")
	}
	if r.CustomFields.ExternalID <= 0 {
		bad(p+".custom_fields.external_id", "required: the id of a string custom field \"External ID\", used as a filter; without it a retry could open a second ticket")
	}
	if r.Statuses.Resolved <= 0 {
		bad(p+".statuses.resolved", "required: the status id set when a device recovered (\"Resolved\" is 3 on a default install)")
	}
	if r.Statuses.Closed <= 0 {
		bad(p+".statuses.closed", "required: the status id set when the hub closes an incident (\"Closed\" is 5 on a default install)")
	}
	for k, v := range r.Priorities {
		if k < 1 || k > 5 || v <= 0 {
			bad(p+".priorities."+strconv.Itoa(k), "map priorities 1..5 to Redmine priority ids")
		}
	}
	if r.Timeout < 0 {
		bad(p+".timeout", "must not be negative")
	}
}

func (w *WebhookConfig) validate(p string, bad func(string, string, ...any)) {
	if err := validURL(w.URL); err != nil {
		bad(p+".url", "%v", err)
	}
	if _, err := decodeSecret(w.Secret); err != nil {
		bad(p+".secret", "%v", err)
	}
	for k := range w.Headers {
		switch strings.ToLower(k) {
		case "webhook-id", "webhook-timestamp", "webhook-signature", "content-type":
			bad(p+".headers."+k, "storewatch sets this header itself")
		}
	}
}

// decodeSecret turns "whsec_<base64>" into the HMAC key.
func decodeSecret(s string) ([]byte, error) {
	b64, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, fmt.Errorf("want \"whsec_\" followed by base64 (generate one with: echo whsec_$(head -c 32 /dev/urandom | base64))")
	}
	key, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return nil, fmt.Errorf("the part after whsec_ is not base64: %v", err)
	}
	if len(key) < 24 || len(key) > 64 {
		return nil, fmt.Errorf("the key is %d bytes; use 24 to 64 random bytes", len(key))
	}
	return key, nil
}

func (e *EmailConfig) validate(p string, bad func(string, string, ...any)) {
	if host, port, err := net.SplitHostPort(e.Server); err != nil || host == "" || port == "" {
		bad(p+".server", "%q: want host:port, such as smtp.example.com:587", e.Server)
	}
	switch e.TLS {
	case "starttls", "tls", "none":
	default:
		bad(p+".tls", "%q: want starttls, tls or none", e.TLS)
	}
	if e.TLS == "none" && e.Username != "" {
		bad(p+".tls", "none would send the password in clear text; use starttls or tls with a username")
	}
	if _, err := mail.ParseAddress(e.From); err != nil {
		bad(p+".from", "%q is not an email address", e.From)
	}
	if len(e.To) == 0 {
		bad(p+".to", "required: the helpdesk's intake address")
	}
	for i, to := range e.To {
		if _, err := mail.ParseAddress(to); err != nil {
			bad(fmt.Sprintf("%s.to[%d]", p, i), "%q is not an email address", to)
		}
	}
	if e.Domain == "" || strings.ContainsAny(e.Domain, "<>@ ") {
		bad(p+".domain", "%q: want a domain name for Message-IDs", e.Domain)
	}
}

// matchZone reports whether a zone pattern (exact, or "Europe/*") matches.
func matchZone(pattern, zone string) bool {
	if prefix, ok := strings.CutSuffix(pattern, "/*"); ok {
		return strings.HasPrefix(zone, prefix+"/")
	}
	return pattern == zone
}
