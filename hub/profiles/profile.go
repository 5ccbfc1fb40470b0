package profiles

import (
	"bytes"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"text/template"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// Profile is one device profile.
type Profile struct {
	Tenant string `json:"tenant"`
	Name   string `json:"name"`
	// Stores are patterns of the store ids it applies to (S0*: a group of
	// stores); a store with Values applies too.
	Stores []string `json:"stores,omitempty"`
	// Agent is the agent of each store that gets the devices (default
	// main, the one enrolment names).
	Agent string `json:"agent,omitempty"`
	// Devices is the devices: list as YAML, a template: {{.lane}} takes
	// the store's value lane.
	Devices string `json:"devices"`
	// Values are the per-store values, by store id.
	Values map[string]map[string]string `json:"values,omitempty"`
}

// file is a profile as written in YAML.
type file struct {
	Tenant  string                       `yaml:"tenant"`
	Name    string                       `yaml:"name"`
	Stores  []string                     `yaml:"stores"`
	Agent   string                       `yaml:"agent"`
	Devices yaml.Node                    `yaml:"devices"`
	Values  map[string]map[string]string `yaml:"values"`
}

// Parse reads a profile from YAML, as strictly as a configuration file,
// and checks it.
func Parse(data []byte) (*Profile, error) {
	var f file
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("profile: %w", err)
	}
	if f.Devices.Kind != yaml.SequenceNode {
		return nil, errors.New("profile: devices: want a list of devices, as in agent.yaml")
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&f.Devices); err != nil {
		return nil, err
	}
	enc.Close()
	p := &Profile{Tenant: f.Tenant, Name: f.Name, Stores: f.Stores, Agent: f.Agent, Devices: b.String(), Values: f.Values}
	return p, p.Check()
}

// agent is the agent the profile's devices go to.
func (p *Profile) agent() string {
	if p.Agent == "" {
		return wire.DefaultAgentName
	}
	return p.Agent
}

// Check checks the profile: its names, patterns, that its template
// renders for every store it has values for, and that the result checks
// as an agent's devices.
func (p *Profile) Check() error {
	if err := wire.ValidateSegment(p.Tenant); err != nil {
		return fmt.Errorf("profile: tenant: %w", err)
	}
	if err := wire.ValidateSegment(p.Name); err != nil {
		return fmt.Errorf("profile: name: %w", err)
	}
	if err := wire.ValidateSegment(p.agent()); err != nil {
		return fmt.Errorf("profile %s: agent: %w", p.Name, err)
	}
	for _, pat := range p.Stores {
		if _, err := path.Match(pat, ""); err != nil || strings.Contains(pat, "/") {
			return fmt.Errorf("profile %s: stores: %q is not a pattern of store ids such as S0*", p.Name, pat)
		}
	}
	if len(p.Stores) == 0 && len(p.Values) == 0 {
		return fmt.Errorf("profile %s: give stores (patterns) or values for some stores: it applies to none", p.Name)
	}
	if _, err := p.template(); err != nil {
		return err
	}
	for _, st := range p.storesWithValues() {
		if err := wire.ValidateSegment(st); err != nil {
			return fmt.Errorf("profile %s: values: store %w", p.Name, err)
		}
		devs, err := p.Render(st)
		if err != nil {
			return err
		}
		if err := CheckDevices(devs); err != nil {
			return fmt.Errorf("profile %s for store %s: %w", p.Name, st, err)
		}
	}
	if len(p.Values) == 0 {
		devs, err := p.Render("")
		if err != nil {
			return err
		}
		if err := CheckDevices(devs); err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
	}
	return nil
}

func (p *Profile) storesWithValues() []string {
	var out []string
	for st := range p.Values {
		out = append(out, st)
	}
	sort.Strings(out)
	return out
}

func (p *Profile) template() (*template.Template, error) {
	t, err := template.New(p.Name).Option("missingkey=error").Parse(p.Devices)
	if err != nil {
		return nil, fmt.Errorf("profile %s: devices: %w", p.Name, err)
	}
	return t, nil
}

// AppliesTo reports whether the profile gives devices to agent id.
func (p *Profile) AppliesTo(id wire.AgentID) bool {
	if id.Tenant != p.Tenant || id.Agent != p.agent() {
		return false
	}
	if _, ok := p.Values[id.Store]; ok {
		return true
	}
	for _, pat := range p.Stores {
		if ok, _ := path.Match(pat, id.Store); ok {
			return true
		}
	}
	return false
}

// Render fills the store's values into the devices.
func (p *Profile) Render(store string) (string, error) {
	t, err := p.template()
	if err != nil {
		return "", err
	}
	values := p.Values[store]
	if values == nil {
		values = map[string]string{}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, values); err != nil {
		return "", fmt.Errorf("profile %s for store %s: %w (set it in the profile's values for the store)", p.Name, store, err)
	}
	return b.String(), nil
}

// CheckDevices checks a devices: list the way the agent's configuration
// check does (a device's driver and its options are checked again by the
// agent, which knows its drivers).
func CheckDevices(devices string) error {
	const head = "tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\ndevices:\n"
	headLines := strings.Count(head, "\n")
	var b strings.Builder
	b.WriteString(head)
	for _, l := range strings.Split(strings.TrimRight(devices, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	_, _, err := config.Parse("devices", []byte(b.String()), func(string) (string, bool) { return "", false })
	var errs config.Errors
	if err == nil || !errors.As(err, &errs) {
		return err
	}
	var msgs []string
	for _, e := range errs {
		line := ""
		if e.Line > headLines {
			line = fmt.Sprintf("line %d: ", e.Line-headLines)
		}
		where := line
		if e.Path != "" {
			where += e.Path + ": "
		}
		msgs = append(msgs, where+e.Msg)
	}
	return errors.New(strings.Join(msgs, "; "))
}
