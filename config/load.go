package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Error is one mistake in a configuration file.
type Error struct {
	File string
	Line int    // 0 when the setting is not in the file (a missing required value)
	Path string // the setting, e.g. devices[3].interval
	Msg  string
}

func (e Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		if e.Line > 0 {
			fmt.Fprintf(&b, ":%d", e.Line)
		}
		b.WriteString(": ")
	} else if e.Line > 0 {
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Path != "" {
		b.WriteString(e.Path + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Errors is every mistake found in a file, in line order.
type Errors []Error

func (es Errors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

// Lines maps setting paths (devices[3].interval) to the line they are on, so
// checks made after loading (drivers, addresses) can point at the file too.
type Lines struct {
	file  string
	lines map[string]int
}

// Error builds an Error for path, with the line of the nearest setting the
// file has.
func (l *Lines) Error(path, format string, args ...any) Error {
	e := Error{File: l.file, Path: path, Msg: fmt.Sprintf(format, args...)}
	for p := path; p != ""; p = parentPath(p) {
		if n, ok := l.lines[p]; ok {
			e.Line = n
			break
		}
	}
	return e
}

func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

func collectLines(n *yaml.Node, prefix string, out map[string]int) {
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			collectLines(c, prefix, out)
		}
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			p := n.Content[i].Value
			if prefix != "" {
				p = prefix + "." + p
			}
			out[p] = n.Content[i].Line
			collectLines(n.Content[i+1], p, out)
		}
	case yaml.SequenceNode:
		for i, c := range n.Content {
			p := fmt.Sprintf("%s[%d]", prefix, i)
			out[p] = c.Line
			collectLines(c, p, out)
		}
	}
}

// Load reads and checks the agent configuration at path. The error, if any,
// is Errors listing every mistake found.
func Load(path string) (*Agent, *Lines, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("config: %w", err)
	}
	return Parse(path, data, os.LookupEnv)
}

// Parse checks a configuration held in memory. file names it in errors;
// lookupEnv resolves ${NAME} values and the STOREWATCH_* overrides.
func Parse(file string, data []byte, lookupEnv func(string) (string, bool)) (*Agent, *Lines, error) {
	if errs := otherProgramError(file, data, "storeagent"); errs != nil {
		return nil, &Lines{file: file, lines: map[string]int{}}, errs
	}
	var cfg Agent
	lines, errs, fatal := decodeStrict(file, data, &cfg, lookupEnv)
	if fatal {
		return nil, lines, errs
	}
	ApplyEnv(&cfg, lookupEnv)
	if err := cfg.readPasswordFile(file); err != nil {
		errs = append(errs, lines.Error("broker.password_file", "%v", err))
	}
	cfg.applyDefaults(lines)
	return finish(&cfg, lines, append(errs, cfg.validate(lines)...))
}

// readPasswordFile takes the broker password from broker.password_file,
// relative to the configuration file's directory, unless a password is
// given otherwise (the file, ${NAME}, STOREWATCH_BROKER_PASSWORD).
func (c *Agent) readPasswordFile(file string) error {
	if c.Broker.PasswordFile == "" || c.Broker.Password != "" {
		return nil
	}
	p := c.Broker.PasswordFile
	if !filepath.IsAbs(p) {
		p = filepath.Join(filepath.Dir(file), p)
		c.Broker.PasswordFile = p
	}
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	pw := strings.TrimRight(string(b), "\r\n")
	if pw == "" || strings.ContainsAny(pw, "\r\n") {
		return fmt.Errorf("%s: want the password on one line", p)
	}
	c.Broker.Password = pw
	return nil
}

// decodeStrict decodes YAML into out, rejecting unknown keys, and expands
// ${NAME} values. fatal means out is unusable (not YAML, empty, not a
// mapping); otherwise errs lists the mistakes found so far.
func decodeStrict(file string, data []byte, out any, lookupEnv func(string) (string, bool)) (lines *Lines, errs Errors, fatal bool) {
	lines = &Lines{file: file, lines: map[string]int{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return lines, Errors{yamlError(file, err)}, true
	}
	if len(doc.Content) == 0 {
		return lines, Errors{{File: file, Msg: "the file is empty"}}, true
	}
	if doc.Content[0].Kind != yaml.MappingNode {
		return lines, Errors{{File: file, Line: doc.Content[0].Line, Msg: "the file must be a YAML mapping (key: value lines) at the top"}}, true
	}
	collectLines(&doc, "", lines.lines)
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(out); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return lines, Errors{yamlError(file, err)}, true
		}
		for _, msg := range te.Errors {
			errs = append(errs, typeError(file, msg))
		}
	}
	errs = append(errs, expandEnv(reflect.ValueOf(out).Elem(), "", lines, lookupEnv)...)
	return lines, errs, false
}

// finish sorts the mistakes by line and returns cfg with them, if any.
func finish[T any](cfg *T, lines *Lines, errs Errors) (*T, *Lines, error) {
	if len(errs) > 0 {
		sort.SliceStable(errs, func(i, j int) bool { return errs[i].Line < errs[j].Line })
		return cfg, lines, errs
	}
	return cfg, lines, nil
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

func yamlError(file string, err error) Error {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		n, _ := strconv.Atoi(m[1])
		return Error{File: file, Line: n, Msg: "not valid YAML: " + m[2]}
	}
	return Error{File: file, Msg: "not valid YAML: " + strings.TrimPrefix(msg, "yaml: ")}
}

var (
	unknownField = regexp.MustCompile(`^field (\S+) not found in type config\.(\w+)$`)
	cannotDecode = regexp.MustCompile("^cannot unmarshal !!(\\w+) `(.*)` into (.+)$")
)

// typeError rewrites the YAML library's messages into words for people who
// have never seen Go.
func typeError(file, msg string) Error {
	e := Error{File: file, Msg: msg}
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return e
	}
	e.Line, _ = strconv.Atoi(m[1])
	e.Msg = m[2]
	if u := unknownField.FindStringSubmatch(e.Msg); u != nil {
		in := "at the top"
		if u[2] != "Agent" && u[2] != "Hub" {
			in = "in " + strings.ToLower(u[2])
		}
		e.Msg = fmt.Sprintf("unknown setting %q (%s)%s", u[1], in, didYouMean(u[1], fieldNames(configTypes[u[2]])))
		return e
	}
	if c := cannotDecode.FindStringSubmatch(e.Msg); c != nil {
		switch {
		case c[3] == "time.Duration":
			e.Msg = fmt.Sprintf("%q is not a duration; write it with a unit, such as 30s, 5m or 2h", c[2])
		case strings.HasPrefix(c[3], "[]"):
			e.Msg = fmt.Sprintf("%q must be a list", c[2])
		case strings.HasPrefix(c[3], "map["), strings.HasPrefix(c[3], "config."):
			e.Msg = fmt.Sprintf("%q must be a section of key: value settings", c[2])
		case c[3] == "int":
			e.Msg = fmt.Sprintf("%q is not a whole number", c[2])
		case c[3] == "float64":
			e.Msg = fmt.Sprintf("%q is not a number", c[2])
		case c[3] == "bool":
			e.Msg = fmt.Sprintf("%q is not true or false", c[2])
		case c[3] == "string":
			e.Msg = fmt.Sprintf("this must be a single value, not a %s", c[1])
		}
	}
	return e
}

var envRef = regexp.MustCompile(`^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$`)

// expandEnv replaces every string setting written as ${NAME} with the
// environment variable NAME, so secrets can stay out of the file.
func expandEnv(v reflect.Value, path string, lines *Lines, lookup func(string) (string, bool)) Errors {
	var errs Errors
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			errs = append(errs, expandEnv(v.Elem(), path, lines, lookup)...)
		}
	case reflect.Struct:
		t := v.Type()
		for i := 0; i < t.NumField(); i++ {
			name := yamlName(t.Field(i))
			if name == "" || !t.Field(i).IsExported() {
				continue
			}
			p := name
			if path != "" {
				p = path + "." + name
			}
			errs = append(errs, expandEnv(v.Field(i), p, lines, lookup)...)
		}
	case reflect.Slice:
		for i := 0; i < v.Len(); i++ {
			errs = append(errs, expandEnv(v.Index(i), fmt.Sprintf("%s[%d]", path, i), lines, lookup)...)
		}
	case reflect.Map:
		if v.Type().Elem().Kind() != reflect.String {
			return nil
		}
		for _, k := range v.MapKeys() {
			s := v.MapIndex(k).String()
			if m := envRef.FindStringSubmatch(s); m != nil {
				p := path + "." + k.String()
				val, ok := lookup(m[1])
				if !ok {
					errs = append(errs, lines.Error(p, "environment variable %s is not set", m[1]))
					continue
				}
				v.SetMapIndex(k, reflect.ValueOf(val))
			}
		}
	case reflect.String:
		if m := envRef.FindStringSubmatch(v.String()); m != nil {
			val, ok := lookup(m[1])
			if !ok {
				errs = append(errs, lines.Error(path, "environment variable %s is not set", m[1]))
				return errs
			}
			v.SetString(val)
		}
	}
	return errs
}

func yamlName(f reflect.StructField) string {
	tag := f.Tag.Get("yaml")
	name, _, _ := strings.Cut(tag, ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return strings.ToLower(f.Name)
	}
	return name
}

// Environment variables that override settings, for secrets and for
// per-machine values in images.
const (
	EnvBrokerUsername = "STOREWATCH_BROKER_USERNAME"
	EnvBrokerPassword = "STOREWATCH_BROKER_PASSWORD"
	EnvBrokerURLs     = "STOREWATCH_BROKER_URLS" // comma-separated
)

// ApplyEnv applies the STOREWATCH_* overrides.
func ApplyEnv(cfg *Agent, lookup func(string) (string, bool)) {
	if v, ok := lookup(EnvBrokerUsername); ok {
		cfg.Broker.Username = v
	}
	if v, ok := lookup(EnvBrokerPassword); ok {
		cfg.Broker.Password = v
	}
	if v, ok := lookup(EnvBrokerURLs); ok && strings.TrimSpace(v) != "" {
		cfg.Broker.URLs = nil
		for _, u := range strings.Split(v, ",") {
			if u = strings.TrimSpace(u); u != "" {
				cfg.Broker.URLs = append(cfg.Broker.URLs, u)
			}
		}
	}
}

// DefaultOutboxPath is where the outbox lives when the config does not say:
// /var/lib/storewatch on Linux, %ProgramData%\storewatch on Windows.
func DefaultOutboxPath() string {
	if runtime.GOOS == "windows" {
		pd := os.Getenv("ProgramData")
		if pd == "" {
			pd = `C:\ProgramData`
		}
		return pd + `\storewatch\outbox.db`
	}
	return "/var/lib/storewatch/outbox.db"
}

// Defaults.
const (
	DefaultInterval  = 30 * time.Second
	DefaultTimeout   = 5 * time.Second
	DefaultDebounce  = 2
	DefaultGrace     = 2 * time.Minute
	DefaultKeepAlive = 30 * time.Second
	DefaultMaxBytes  = 64 << 20
	DefaultMaxAge    = 7 * 24 * time.Hour
	// DefaultKeepSent: about 250 KB of file, the events of a busy store's
	// several hours, far more than a hub needs to notice a gap.
	DefaultKeepSent  = 2000
	DefaultTelemetry = time.Minute
	DefaultHostEvery = time.Minute
	DefaultBusyLimit = time.Hour
	DefaultIdleGap   = 100 * time.Millisecond
	DefaultReplyWait = 500 * time.Millisecond
	DefaultLogBytes  = 10 << 20
	DefaultLogFiles  = 5

	DefaultScanRate        = 20
	DefaultScanTimeout     = time.Second
	DefaultScanConcurrency = 4
)

// DefaultScanPorts are the TCP ports a network scan tries unless
// discovery.ports says otherwise: raw printing, ZVT, Remote Desktop, SSH.
var DefaultScanPorts = []int{9100, 20007, 3389, 22}

// Bounds of a network scan.
const (
	MinScanPrefix   = 22 // largest network: a /22, 1024 addresses
	MaxScanNetworks = 8
	MaxScanPorts    = 16
	MaxScanRate     = 200
	MaxScanParallel = 16
)

// applyDefaults fills in what the file does not say. A setting the file
// gives is kept even when it is zero ("grace: 0s" means no grace period);
// validation then judges it.
func (c *Agent) applyDefaults(lines *Lines) {
	unset := func(path string) bool { _, ok := lines.lines[path]; return !ok }
	if unset("polling.interval") {
		c.Polling.Interval = DefaultInterval
	}
	if unset("polling.timeout") {
		c.Polling.Timeout = DefaultTimeout
	}
	if unset("polling.debounce") {
		c.Polling.Debounce = DefaultDebounce
	}
	if unset("polling.grace") {
		c.Polling.Grace = DefaultGrace
	}
	if unset("polling.busy_limit") {
		c.Polling.BusyLimit = DefaultBusyLimit
	}
	if unset("broker.keepalive") {
		c.Broker.KeepAlive = DefaultKeepAlive
	}
	if c.Outbox.Path == "" {
		c.Outbox.Path = DefaultOutboxPath()
	}
	if unset("outbox.max_bytes") {
		c.Outbox.MaxBytes = DefaultMaxBytes
	}
	if unset("outbox.max_age") {
		c.Outbox.MaxAge = DefaultMaxAge
	}
	if unset("outbox.keep_sent") {
		c.Outbox.KeepSent = DefaultKeepSent
	}
	if unset("telemetry.interval") {
		c.Telemetry.Interval = DefaultTelemetry
	}
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
	if unset("log.max_bytes") {
		c.Log.MaxBytes = DefaultLogBytes
	}
	if unset("log.max_files") {
		c.Log.MaxFiles = DefaultLogFiles
	}
	if unset("discovery.ports") {
		c.Discovery.Ports = append([]int(nil), DefaultScanPorts...)
	}
	if unset("discovery.rate") {
		c.Discovery.Rate = DefaultScanRate
	}
	if unset("discovery.timeout") {
		c.Discovery.Timeout = DefaultScanTimeout
	}
	if unset("discovery.concurrency") {
		c.Discovery.Concurrency = DefaultScanConcurrency
	}
	for i := range c.Devices {
		d, p := &c.Devices[i], fmt.Sprintf("devices[%d].", i)
		if unset(p + "interval") {
			d.Interval = c.Polling.Interval
		}
		if unset(p + "timeout") {
			d.Timeout = min(c.Polling.Timeout, d.Interval)
		}
		if unset(p + "debounce") {
			d.Debounce = c.Polling.Debounce
		}
		if unset(p + "busy_limit") {
			d.BusyLimit = c.Polling.BusyLimit
		}
		if t := d.Tap; t != nil {
			if unset(p + "tap.idle_gap") {
				t.IdleGap = DefaultIdleGap
			}
			if unset(p + "tap.reply_wait") {
				t.ReplyWait = DefaultReplyWait
			}
		}
		if d.Criticality == "" {
			d.Criticality = "normal"
		}
	}
	if h := c.Host; h != nil {
		if unset("host.interval") {
			h.Interval = DefaultHostEvery
		}
		if h.Criticality == "" {
			h.Criticality = "normal"
		}
		if h.Location == "" {
			h.Location = "store PC"
		}
	}
}
