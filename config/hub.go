package config

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Hub is the whole storehub configuration.
type Hub struct {
	DataDir      string        `yaml:"data_dir" doc:"Directory for the ticket store (hub.db, with the default bolt store)"`
	LogRetention time.Duration `yaml:"log_retention" doc:"How long the event log (for reports) is kept; default 9600h (400 days)"`
	MemoryLimit  ByteSize      `yaml:"memory_limit" doc:"Soft limit of the Go runtime's memory (debug.SetMemoryLimit), e.g. 768MiB: the heap is collected harder near it instead of growing to twice the live data; about 3/4 of the memory set aside for storehub; none by default; the GOMEMLIMIT environment variable wins"`
	Log          Log           `yaml:"log" doc:"Logging"`
	API          HubAPI        `yaml:"api" doc:"The HTTP API and /metrics"`
	Broker       HubBroker     `yaml:"broker" doc:"Where agents' messages come from: the embedded broker or external ones"`
	Agents       []AgentAccess `yaml:"agents" doc:"Agents allowed to connect to the embedded broker, and their subtree"`
	Policy       HubPolicy     `yaml:"policy" doc:"Incident policy: hold-downs, grace, flapping, chronic problems"`
	SLA          HubSLA        `yaml:"sla" doc:"Response and resolution targets per priority, counted in calendars"`
	// Store, Tickets and Helpdesk are defined by hub/store, hub/tickets and
	// hub/helpdesk (store.Config, tickets.Config, helpdesk.Config;
	// docs/hub.md, docs/helpdesk.md); the hub decodes and checks them when it
	// starts.
	Store    Section   `yaml:"store" doc:"Where tickets, the event log and the notification stream live: bolt (data_dir/hub.db, the default) or postgres with a dsn (docs/hub.md)"`
	Tickets  Section   `yaml:"tickets" doc:"Ticket texts: language per tenant and store, overrides, runbooks (docs/helpdesk.md)"`
	Helpdesk Section   `yaml:"helpdesk" doc:"External helpdesks (Redmine, webhook, email), routing and the delivery outbox; without it tickets stay in the hub's built-in list (docs/helpdesk.md)"`
	Remote   HubRemote `yaml:"remote" doc:"Remote device queries: the key that signs them, timeouts and limits"`
}

// HubRemote configures remote device queries (storehub query, the API and
// the console's "Query now").
type HubRemote struct {
	SigningKeyFile string        `yaml:"signing_key_file" doc:"PEM (PKCS #8) Ed25519 private key that signs queries; default data_dir/signing_key.pem, created (mode 0600) on first start"`
	SigningKey     string        `yaml:"signing_key" doc:"The private key as base64 (its 32-byte seed) instead of a file; better ${ENV_NAME}" secret:"true"`
	Timeout        time.Duration `yaml:"timeout" doc:"How long to wait for the agent's answer (default 10s)"`
	Expiry         time.Duration `yaml:"expiry" doc:"How long a signed request stays valid (default 30s; agents refuse more than 10m)"`
	PerMinute      int           `yaml:"per_minute" doc:"Queries per device and minute the hub sends (default 6; agents allow 12)"`
}

// HubAPI configures the HTTP API.
type HubAPI struct {
	Listen     string     `yaml:"listen" doc:"Address of the HTTP API, e.g. 127.0.0.1:8080"`
	TLSCert    string     `yaml:"tls_cert" doc:"PEM certificate for HTTPS (with tls_key)"`
	TLSKey     string     `yaml:"tls_key" doc:"PEM key for HTTPS"`
	Tokens     []APIToken `yaml:"tokens" doc:"Bearer tokens and their roles"`
	ConsoleDir string     `yaml:"console_dir" doc:"A directory with templates/ and static/ that replace the web console's embedded ones (default: the embedded ones)"`
	PublicURL  string     `yaml:"public_url" doc:"The hub's address as people reach it, e.g. https://storehub.example.com; tickets link to /console/incidents/{id} under it"`
}

// APIToken is one bearer token.
type APIToken struct {
	Name        string `yaml:"name" required:"true" doc:"Who holds the token, for the audit trail"`
	Role        string `yaml:"role" required:"true" doc:"viewer (read), engineer (acknowledge, comment, close, maintenance) or admin (everything)" enum:"viewer,engineer,admin"`
	Token       string `yaml:"token" doc:"The token itself; better ${ENV_NAME}" secret:"true"`
	TokenSHA256 string `yaml:"token_sha256" doc:"Hex SHA-256 of the token, so the file holds no secret"`
}

// HubBroker chooses and configures the MQTT side.
type HubBroker struct {
	Mode     string         `yaml:"mode" doc:"embedded (default: the hub runs the broker) or external" enum:"embedded,external"`
	Embedded EmbeddedBroker `yaml:"embedded"`
	External ExternalBroker `yaml:"external"`
}

// EmbeddedBroker configures the in-process broker.
type EmbeddedBroker struct {
	Listen    string `yaml:"listen" doc:"Plain MQTT listener, e.g. :1883; empty for none"`
	TLSListen string `yaml:"tls_listen" doc:"MQTT over TLS listener, e.g. :8883"`
	TLSCert   string `yaml:"tls_cert" doc:"PEM server certificate for tls_listen"`
	TLSKey    string `yaml:"tls_key" doc:"PEM server key for tls_listen"`
	ClientCA  string `yaml:"client_ca" doc:"PEM CA of agent client certificates; agents may then authenticate by certificate"`
}

// ExternalBroker configures connections to Mosquitto, EMQX or HiveMQ.
type ExternalBroker struct {
	URLs       []string `yaml:"urls" doc:"Broker URLs, one connection each: tcp://host:1883, tls://host:8883"`
	ClientID   string   `yaml:"client_id" doc:"Stable MQTT client id (a persistent session keeps messages while the hub is down)"`
	Username   string   `yaml:"username"`
	Password   string   `yaml:"password" doc:"better ${ENV_NAME}" secret:"true"`
	CAFile     string   `yaml:"ca_file"`
	CertFile   string   `yaml:"cert_file"`
	KeyFile    string   `yaml:"key_file"`
	ShareGroup string   `yaml:"share_group" doc:"Receive events and metrics through $share/<group>/ so several hub replicas split the work"`
}

// AgentAccess is one agent's credentials and subtree.
type AgentAccess struct {
	Tenant       string `yaml:"tenant" required:"true"`
	Store        string `yaml:"store" required:"true"`
	Agent        string `yaml:"agent" required:"true"`
	Username     string `yaml:"username" doc:"MQTT user name (default tenant-store-agent)"`
	PasswordHash string `yaml:"password_hash" doc:"Mosquitto-compatible $7$ PBKDF2-SHA512 hash, as printed by storehub passwd or mosquitto_passwd"`
	CertCN       string `yaml:"cert_cn" doc:"Common name of the agent's client certificate, if it authenticates by certificate"`
}

// Rule overrides the incident policy for one fault code or kind/code.
type Rule struct {
	Never      *bool          `yaml:"never" doc:"Never open an incident for this fault by itself"`
	HoldDown   *time.Duration `yaml:"hold_down" doc:"How long the fault must last before an incident opens"`
	HoldUp     *time.Duration `yaml:"hold_up" doc:"How long it must stay cleared before the incident resolves"`
	OnRecovery string         `yaml:"on_recovery" doc:"close (resolve as recovered by itself) or comment (leave open for a person)" enum:"close,comment"`
	Chronic    *bool          `yaml:"chronic" doc:"Whether repeats of this fault open a chronic-problem incident"`
}

// HubPolicy configures the incident engine.
type HubPolicy struct {
	Grace        time.Duration   `yaml:"grace" doc:"Power-on grace after a store opens or a maintenance window ends (default 10m)"`
	ReplaySettle time.Duration   `yaml:"replay_settle" doc:"Extra wait before events replayed from an agent's outbox open anything (default 1m)"`
	Flap         FlapPolicy      `yaml:"flapping"`
	Chronic      ChronicPolicy   `yaml:"chronic"`
	Rules        map[string]Rule `yaml:"rules" doc:"Per fault code (paper_out) or device kind and code (scale/unreachable)"`
}

// FlapPolicy configures flap detection.
type FlapPolicy struct {
	Window    time.Duration `yaml:"window" doc:"Window in which state changes are counted (default 30m)"`
	Threshold int           `yaml:"threshold" doc:"Changes within the window that make a fault flapping (default 6)"`
	Quiet     time.Duration `yaml:"quiet" doc:"Calm needed to leave flapping (default 15m)"`
}

// ChronicPolicy configures chronic-problem detection.
type ChronicPolicy struct {
	Count       int           `yaml:"count" doc:"Episodes that make a problem chronic (default 5)"`
	Window      time.Duration `yaml:"window" doc:"Within this time (default 168h)"`
	MinDuration time.Duration `yaml:"min_duration" doc:"Shortest episode that counts (default 1m)"`
}

// HubSLA configures SLA clocks.
type HubSLA struct {
	Calendars  map[string]SLACalendar `yaml:"calendars" doc:"Named working-time calendars; 24x7 and business exist unless redefined"`
	Priorities map[string]SLATarget   `yaml:"priorities" doc:"Targets for P1..P5"`
}

// SLACalendar is a working-time calendar.
type SLACalendar struct {
	Hours    map[string]string `yaml:"hours" doc:"Working hours, e.g. mon-fri: 08:00-18:00; empty means around the clock"`
	TimeZone string            `yaml:"timezone" doc:"IANA zone; empty means the store's own"`
	Holidays []string          `yaml:"holidays" doc:"Dates (YYYY-MM-DD) on which the clock stops"`
}

// SLATarget is one priority's targets.
type SLATarget struct {
	Response   time.Duration `yaml:"response" required:"true"`
	Resolution time.Duration `yaml:"resolution" required:"true"`
	Calendar   string        `yaml:"calendar" doc:"Name of a calendar (default business; 24x7 for P1)"`
}

// Hub defaults.
const (
	DefaultHubAPIListen    = "127.0.0.1:8080"
	DefaultHubMQTTListen   = ":1883"
	DefaultHubClientID     = "storehub"
	DefaultHubDataDirUnix  = "/var/lib/storehub"
	DefaultLogRetention    = 400 * 24 * time.Hour
	MinMemoryLimit         = ByteSize(64 << 20)
	DefaultSigningKeyFile  = "signing_key.pem"
	DefaultQueryTimeout    = 10 * time.Second
	DefaultQueryExpiry     = 30 * time.Second
	DefaultQueryPerMinute  = 6
	BuiltinCalendar24x7    = "24x7"
	BuiltinCalendarDefault = "business"
)

// Roles of API tokens, weakest first.
var Roles = []string{"viewer", "engineer", "admin"}

// LoadHub reads and checks the hub configuration at path.
func LoadHub(path string) (*Hub, *Lines, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return ParseHub(path, data, os.LookupEnv)
}

// ParseHub checks a hub configuration held in memory.
func ParseHub(file string, data []byte, lookupEnv func(string) (string, bool)) (*Hub, *Lines, error) {
	var cfg Hub
	lines, errs, fatal := decodeStrict(file, data, &cfg, lookupEnv)
	if fatal {
		return nil, lines, errs
	}
	cfg.applyDefaults()
	cfg.Store.bind("store", lines, lookupEnv)
	cfg.Tickets.bind("tickets", lines, lookupEnv)
	cfg.Helpdesk.bind("helpdesk", lines, lookupEnv)
	return finish(&cfg, lines, append(errs, cfg.validate(lines)...))
}

// User returns the agent's MQTT user name.
func (a AgentAccess) User() string {
	if a.Username != "" {
		return a.Username
	}
	return a.Tenant + "-" + a.Store + "-" + a.Agent
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
	if c.API.Listen == "" {
		c.API.Listen = DefaultHubAPIListen
	}
	if c.Broker.Mode == "" {
		c.Broker.Mode = "embedded"
	}
	if c.Broker.Mode == "embedded" && c.Broker.Embedded.Listen == "" && c.Broker.Embedded.TLSListen == "" {
		c.Broker.Embedded.Listen = DefaultHubMQTTListen
	}
	if c.Broker.External.ClientID == "" {
		c.Broker.External.ClientID = DefaultHubClientID
	}
	if c.Remote.SigningKeyFile == "" && c.Remote.SigningKey == "" {
		c.Remote.SigningKeyFile = filepath.Join(c.DataDir, DefaultSigningKeyFile)
	}
	if c.Remote.Timeout == 0 {
		c.Remote.Timeout = DefaultQueryTimeout
	}
	if c.Remote.Expiry == 0 {
		c.Remote.Expiry = max(DefaultQueryExpiry, c.Remote.Timeout)
	}
	if c.Remote.PerMinute == 0 {
		c.Remote.PerMinute = DefaultQueryPerMinute
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
	checkAddr := func(path, addr string) {
		if addr == "" {
			return
		}
		if _, port, err := net.SplitHostPort(addr); err != nil {
			bad(path, "%q is not host:port (e.g. 127.0.0.1:8080 or :1883)", addr)
		} else if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
			bad(path, "%q: port must be a number up to 65535", addr)
		}
	}

	if c.MemoryLimit != 0 && c.MemoryLimit < MinMemoryLimit {
		bad("memory_limit", "%s is too small for a hub; at least %s", c.MemoryLimit, MinMemoryLimit)
	}
	if c.LogRetention < 24*time.Hour {
		bad("log_retention", "must be at least 24h")
	}

	// API.
	checkAddr("api.listen", c.API.Listen)
	if c.API.PublicURL != "" {
		if u, err := url.Parse(c.API.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			bad("api.public_url", "%q: want the hub's address as people reach it, such as https://storehub.example.com", c.API.PublicURL)
		}
	}
	if (c.API.TLSCert == "") != (c.API.TLSKey == "") {
		bad("api.tls_cert", "HTTPS needs both tls_cert and tls_key")
	}
	names := map[string]int{}
	for i, t := range c.API.Tokens {
		p := fmt.Sprintf("api.tokens[%d]", i)
		if t.Name == "" {
			bad(p+".name", "required: who holds the token")
		} else if j, dup := names[t.Name]; dup {
			bad(p+".name", "%q is already used by api.tokens[%d]", t.Name, j)
		} else {
			names[t.Name] = i
		}
		if !oneOf(t.Role, Roles) {
			bad(p+".role", "unknown role %q (viewer, engineer or admin)", t.Role)
		}
		switch {
		case t.Token == "" && t.TokenSHA256 == "":
			bad(p, "give token (better ${ENV_NAME}) or token_sha256")
		case t.Token != "" && t.TokenSHA256 != "":
			bad(p, "give token or token_sha256, not both")
		case t.Token != "" && len(t.Token) < 16:
			bad(p+".token", "too short: use at least 16 random characters")
		case t.TokenSHA256 != "" && !isHex(t.TokenSHA256, 64):
			bad(p+".token_sha256", "must be 64 hex digits (sha256sum of the token)")
		}
	}

	// Broker.
	switch c.Broker.Mode {
	case "embedded":
		e := c.Broker.Embedded
		checkAddr("broker.embedded.listen", e.Listen)
		checkAddr("broker.embedded.tls_listen", e.TLSListen)
		if e.TLSListen != "" && (e.TLSCert == "" || e.TLSKey == "") {
			bad("broker.embedded.tls_listen", "a TLS listener needs tls_cert and tls_key")
		}
		if e.ClientCA != "" && e.TLSListen == "" {
			bad("broker.embedded.client_ca", "client certificates need a tls_listen")
		}
		// No agents is allowed: a freshly installed hub runs, admitting
		// nobody, until agents are added (hub.Start warns).
	case "external":
		x := c.Broker.External
		if len(x.URLs) == 0 {
			bad("broker.external.urls", "required: at least one broker URL such as tcp://mosquitto:1883")
		}
		for i, raw := range x.URLs {
			if _, problem := brokerURLProblem(raw, "broker.external.username and password"); problem != "" {
				bad(fmt.Sprintf("broker.external.urls[%d]", i), "%s", problem)
			}
		}
		if err := wire.ValidateSegment(x.ClientID); err != nil {
			bad("broker.external.client_id", "%v", err)
		}
		if x.ShareGroup != "" {
			if err := wire.ValidateSegment(x.ShareGroup); err != nil {
				bad("broker.external.share_group", "%v", err)
			}
		}
		if (x.CertFile == "") != (x.KeyFile == "") {
			bad("broker.external.cert_file", "a client certificate needs both cert_file and key_file")
		}
	default:
		bad("broker.mode", "unknown mode %q (embedded or external)", c.Broker.Mode)
	}

	// Agents.
	users := map[string]int{}
	ids := map[string]int{}
	for i, a := range c.Agents {
		p := fmt.Sprintf("agents[%d]", i)
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

	// Policy.
	if c.Policy.Grace < 0 || c.Policy.Grace > 24*time.Hour {
		bad("policy.grace", "must be between 0 and 24h")
	}
	if c.Policy.ReplaySettle < 0 {
		bad("policy.replay_settle", "must not be negative")
	}
	if c.Policy.Flap.Threshold < 0 || c.Policy.Flap.Threshold == 1 {
		bad("policy.flapping.threshold", "must be 0 (off) or at least 2 changes")
	}
	if c.Policy.Flap.Window < 0 || c.Policy.Flap.Quiet < 0 {
		bad("policy.flapping", "durations must not be negative")
	}
	if c.Policy.Chronic.Count < 0 || c.Policy.Chronic.Window < 0 || c.Policy.Chronic.MinDuration < 0 {
		bad("policy.chronic", "values must not be negative")
	}
	keys := make([]string, 0, len(c.Policy.Rules))
	for k := range c.Policy.Rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := c.Policy.Rules[k]
		p := "policy.rules." + k
		kind, code, scoped := strings.Cut(k, "/")
		if !scoped {
			code, kind = kind, ""
		}
		if kind != "" && !oneOf(kind, Kinds) {
			bad(p, "unknown device kind %q (one of %s)", kind, strings.Join(Kinds, ", "))
		}
		if !wire.FaultCode(code).Known() {
			bad(p, "unknown fault code %q", code)
		}
		if r.HoldDown != nil && *r.HoldDown < 0 {
			bad(p+".hold_down", "must not be negative")
		}
		if r.HoldUp != nil && *r.HoldUp < 0 {
			bad(p+".hold_up", "must not be negative")
		}
		if r.OnRecovery != "" && !oneOf(r.OnRecovery, []string{"close", "comment"}) {
			bad(p+".on_recovery", "unknown %q (close or comment)", r.OnRecovery)
		}
	}

	// Remote queries.
	r := c.Remote
	if r.SigningKey != "" && r.SigningKeyFile != "" {
		bad("remote.signing_key", "give signing_key or signing_key_file, not both")
	}
	if r.SigningKey != "" {
		if b, err := base64.StdEncoding.DecodeString(r.SigningKey); err != nil || len(b) != 32 {
			bad("remote.signing_key", "must be the base64 of a 32-byte Ed25519 seed")
		}
	}
	if r.Timeout < time.Second || r.Timeout > 5*time.Minute {
		bad("remote.timeout", "must be between 1s and 5m")
	}
	if r.Expiry < r.Timeout || r.Expiry > 10*time.Minute {
		bad("remote.expiry", "must be at least remote.timeout and at most 10m (agents refuse longer)")
	}
	if r.PerMinute < 1 || r.PerMinute > 600 {
		bad("remote.per_minute", "must be between 1 and 600")
	}

	// SLA.
	for name, cal := range c.SLA.Calendars {
		p := "sla.calendars." + name
		if _, err := wire.ParseTradingHours(cal.Hours); err != nil {
			bad(p+".hours", "%v", err)
		}
		if cal.TimeZone != "" {
			if _, err := time.LoadLocation(cal.TimeZone); err != nil {
				bad(p+".timezone", "%q is not a known time zone", cal.TimeZone)
			}
		}
		for i, d := range cal.Holidays {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				bad(fmt.Sprintf("%s.holidays[%d]", p, i), "%q is not a date like 2026-12-25", d)
			}
		}
	}
	for key, tg := range c.SLA.Priorities {
		p := "sla.priorities." + key
		if _, err := ParsePriority(key); err != nil {
			bad(p, "%v", err)
		}
		if tg.Response <= 0 || tg.Resolution <= 0 {
			bad(p, "response and resolution must be positive durations")
		} else if tg.Resolution < tg.Response {
			bad(p+".resolution", "is shorter than the response target")
		}
		if tg.Calendar != "" && tg.Calendar != BuiltinCalendar24x7 && tg.Calendar != BuiltinCalendarDefault {
			if _, ok := c.SLA.Calendars[tg.Calendar]; !ok {
				bad(p+".calendar", "no calendar %q in sla.calendars", tg.Calendar)
			}
		}
	}
	return errs
}

// ParsePriority reads "P1".."P5" or "1".."5".
func ParsePriority(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "P"))
	if err != nil || n < 1 || n > 5 {
		return 0, fmt.Errorf("priority %q: want P1 to P5", s)
	}
	return n, nil
}

func isHex(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// Redacted returns a copy safe to print: secrets are replaced.
func (c *Hub) Redacted() Hub {
	out := *c
	out.API.Tokens = make([]APIToken, len(c.API.Tokens))
	for i, t := range c.API.Tokens {
		if t.Token != "" {
			t.Token = "REDACTED"
		}
		out.API.Tokens[i] = t
	}
	if out.Broker.External.Password != "" {
		out.Broker.External.Password = "REDACTED"
	}
	if out.Remote.SigningKey != "" {
		out.Remote.SigningKey = "REDACTED"
	}
	return out
}
