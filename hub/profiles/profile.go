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
	// Discovery, when set, is the discovery: section as YAML, a template
	// like Devices ({{.lan}}: the store's network), so that the agents it
	// applies to may scan their store networks. At most one profile that
	// applies to an agent may set it.
	Discovery string `json:"discovery,omitempty"`
	// Values are the per-store values, by store id.
	Values map[string]map[string]string `json:"values,omitempty"`
}

// file is a profile as written in YAML.
type file struct {
	Tenant    string                       `yaml:"tenant"`
	Name      string                       `yaml:"name"`
	Stores    []string                     `yaml:"stores"`
	Agent     string                       `yaml:"agent"`
	Devices   yaml.Node                    `yaml:"devices"`
	Discovery yaml.Node                    `yaml:"discovery"`
	Values    map[string]map[string]string `yaml:"values"`
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
	devices, err := encodeNode(&f.Devices)
	if err != nil {
		return nil, err
	}
	p := &Profile{Tenant: f.Tenant, Name: f.Name, Stores: f.Stores, Agent: f.Agent, Devices: devices, Values: f.Values}
	if f.Discovery.Kind != 0 {
		if f.Discovery.Kind != yaml.MappingNode {
			return nil, errors.New("profile: discovery: want the discovery settings, as in agent.yaml (networks: [...])")
		}
		if p.Discovery, err = encodeNode(&f.Discovery); err != nil {
			return nil, err
		}
	}
	return p, p.Check()
}

func encodeNode(n *yaml.Node) (string, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return "", err
	}
	enc.Close()
	return b.String(), nil
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
	if len(p.Discovery) > wire.MaxConfigDiscovery {
		return fmt.Errorf("profile %s: discovery: %d bytes, at most %d", p.Name, len(p.Discovery), wire.MaxConfigDiscovery)
	}
	if _, err := template.New(p.Name).Option("missingkey=error").Parse(p.Discovery); err != nil {
		return fmt.Errorf("profile %s: discovery: %w", p.Name, err)
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
		disc, err := p.RenderDiscovery(st)
		if err != nil {
			return err
		}
		if err := CheckDiscovery(disc); err != nil {
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
		disc, err := p.RenderDiscovery("")
		if err != nil {
			return err
		}
		if err := CheckDiscovery(disc); err != nil {
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
	return p.execute(t, store, "")
}

// RenderDiscovery fills the store's values into the discovery settings;
// "" when the profile sets none.
func (p *Profile) RenderDiscovery(store string) (string, error) {
	if strings.TrimSpace(p.Discovery) == "" {
		return "", nil
	}
	t, err := template.New(p.Name).Option("missingkey=error").Parse(p.Discovery)
	if err != nil {
		return "", fmt.Errorf("profile %s: discovery: %w", p.Name, err)
	}
	return p.execute(t, store, "discovery: ")
}

// execute renders t (what: which part, for the error) with store's values.
func (p *Profile) execute(t *template.Template, store, what string) (string, error) {
	values := p.Values[store]
	if values == nil {
		values = map[string]string{}
	}
	var b bytes.Buffer
	if err := t.Execute(&b, values); err != nil {
		return "", fmt.Errorf("profile %s for store %s: %s%w (set it in the profile's values for the store)", p.Name, store, what, err)
	}
	return b.String(), nil
}

// CheckDiscovery checks discovery settings the way the agent's
// configuration check does; "" (none) is fine.
func CheckDiscovery(discovery string) error {
	if strings.TrimSpace(discovery) == "" {
		return nil
	}
	return checkSection("discovery", discovery)
}

// CheckDevices checks a devices: list the way the agent's configuration
// check does (a device's driver and its options are checked again by the
// agent, which knows its drivers).
func CheckDevices(devices string) error {
	return checkSection("devices", devices)
}

// checkSection checks a section of an agent's configuration, as YAML,
// the way the agent's configuration check does, with line numbers in the
// section's terms.
func checkSection(name, section string) error {
	head := "tenant: t\nstore: s\nagent: a\nsite: {timezone: UTC}\n" + name + ":\n"
	headLines := strings.Count(head, "\n")
	var b strings.Builder
	b.WriteString(head)
	for _, l := range strings.Split(strings.TrimRight(section, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	_, _, err := config.Parse(name, []byte(b.String()), func(string) (string, bool) { return "", false })
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
