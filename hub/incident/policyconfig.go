package incident

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// PolicyConfig is the policy: section of the hub's configuration: what the
// file changes of the built-in policy (DefaultPolicy).
type PolicyConfig struct {
	Grace        time.Duration         `yaml:"grace" doc:"Power-on grace after a store opens or a maintenance window ends (default 10m)"`
	ReplaySettle time.Duration         `yaml:"replay_settle" doc:"Extra wait before events replayed from an agent's outbox or a broker's backlog open anything (default 1m; at most the rule's hold-down)"`
	Flap         FlapConfig            `yaml:"flapping"`
	Chronic      ChronicConfig         `yaml:"chronic"`
	Outage       OutageConfig          `yaml:"outage"`
	Rules        map[string]RuleConfig `yaml:"rules" doc:"Per fault code (paper_out) or device kind and code (scale/unreachable)"`
	// Display is set by a program that compresses time (the demo), never
	// by the file: see TimeScale.
	Display TimeScale `yaml:"-"`
}

// RuleConfig overrides the policy for one fault code or kind/code.
type RuleConfig struct {
	Never      *bool          `yaml:"never" doc:"Never open an incident for this fault by itself"`
	HoldDown   *time.Duration `yaml:"hold_down" doc:"How long the fault must last before an incident opens"`
	HoldUp     *time.Duration `yaml:"hold_up" doc:"How long it must stay cleared before the incident resolves"`
	OnRecovery string         `yaml:"on_recovery" doc:"close (resolve as recovered by itself) or comment (leave open for a person)" enum:"close,comment"`
	Chronic    *bool          `yaml:"chronic" doc:"Whether repeats of this fault open a chronic-problem incident"`
}

// FlapConfig configures flap detection.
type FlapConfig struct {
	Window    time.Duration `yaml:"window" doc:"Window in which state changes are counted (default 30m)"`
	Threshold int           `yaml:"threshold" doc:"Changes within the window that make a fault flapping (default 6)"`
	Quiet     time.Duration `yaml:"quiet" doc:"Calm needed to leave flapping (default 15m)"`
}

// ChronicConfig configures chronic-problem detection.
type ChronicConfig struct {
	Count       int           `yaml:"count" doc:"Episodes that make a problem chronic (default 5)"`
	Window      time.Duration `yaml:"window" doc:"Within this time (default 168h)"`
	MinDuration time.Duration `yaml:"min_duration" doc:"Shortest episode that counts (default 1m)"`
}

// OutageConfig configures the hub's own outage: it cannot hear its stores.
type OutageConfig struct {
	Settle    time.Duration `yaml:"settle" doc:"After the hub hears its stores again, how long it listens before deciding about their agents (default 2m)"`
	Share     float64       `yaml:"share" doc:"Share of the agents going offline at once that is the hub's outage, not theirs (default 0.5)"`
	MinAgents int           `yaml:"min_agents" doc:"...and the least number of them (default 10)"`
	Window    time.Duration `yaml:"window" doc:"Within this time (default 2m)"`
}

// Validate reports every mistake, with paths relative to the section.
func (c *PolicyConfig) Validate() config.Errors {
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	if c.Grace < 0 || c.Grace > 24*time.Hour {
		bad("grace", "must be between 0 and 24h")
	}
	if c.ReplaySettle < 0 {
		bad("replay_settle", "must not be negative")
	}
	if c.Flap.Threshold < 0 || c.Flap.Threshold == 1 {
		bad("flapping.threshold", "must be 0 (off) or at least 2 changes")
	}
	if c.Flap.Window < 0 || c.Flap.Quiet < 0 {
		bad("flapping", "durations must not be negative")
	}
	if c.Chronic.Count < 0 || c.Chronic.Window < 0 || c.Chronic.MinDuration < 0 {
		bad("chronic", "values must not be negative")
	}
	if o := c.Outage; o.Settle < 0 || o.Window < 0 || o.MinAgents < 0 {
		bad("outage", "values must not be negative")
	}
	if s := c.Outage.Share; s < 0 || s > 1 {
		bad("outage.share", "must be between 0 and 1")
	}
	keys := make([]string, 0, len(c.Rules))
	for k := range c.Rules {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := c.Rules[k]
		p := "rules." + k
		kind, code, scoped := strings.Cut(k, "/")
		if !scoped {
			code, kind = kind, ""
		}
		if kind != "" && !slices.Contains(config.Kinds, kind) {
			bad(p, "unknown device kind %q (one of %s)", kind, strings.Join(config.Kinds, ", "))
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
		if r.OnRecovery != "" && r.OnRecovery != "close" && r.OnRecovery != "comment" {
			bad(p+".on_recovery", "unknown %q (close or comment)", r.OnRecovery)
		}
	}
	return errs
}

// Policy is the engine's policy: the built-in rule of each code with the
// section's overrides laid over it.
func (c PolicyConfig) Policy() Policy {
	p := DefaultPolicy()
	p.Display = c.Display
	set(&p.Grace, c.Grace)
	set(&p.ReplaySettle, c.ReplaySettle)
	set(&p.FlapWindow, c.Flap.Window)
	set(&p.FlapThreshold, c.Flap.Threshold)
	set(&p.FlapQuiet, c.Flap.Quiet)
	set(&p.ChronicCount, c.Chronic.Count)
	set(&p.ChronicWindow, c.Chronic.Window)
	set(&p.ChronicMin, c.Chronic.MinDuration)
	set(&p.OutageSettle, c.Outage.Settle)
	set(&p.OutageShare, c.Outage.Share)
	set(&p.OutageMin, c.Outage.MinAgents)
	set(&p.OutageWindow, c.Outage.Window)
	p.Rules = map[string]Rule{}
	for key, o := range c.Rules {
		kind, code, scoped := strings.Cut(key, "/")
		if !scoped {
			code, kind = kind, ""
		}
		base := DefaultRule(wire.FaultCode(code))
		if kind != "" { // kind rules start from the code's (possibly overridden) rule
			if r, ok := c.Rules[code]; ok {
				base = overlay(base, r)
			}
		}
		p.Rules[key] = overlay(base, o)
	}
	return p
}

// set lays a configured value over a default; zero means "not set".
func set[T comparable](dst *T, v T) {
	var zero T
	if v != zero {
		*dst = v
	}
}

func overlay(r Rule, o RuleConfig) Rule {
	if o.Never != nil {
		r.Never = *o.Never
	}
	if o.HoldDown != nil {
		r.HoldDown = *o.HoldDown
	}
	if o.HoldUp != nil {
		r.HoldUp = *o.HoldUp
	}
	if o.OnRecovery != "" {
		r.OnRecovery = Recovery(o.OnRecovery)
	}
	if o.Chronic != nil {
		r.Chronic = *o.Chronic
	}
	return r
}
