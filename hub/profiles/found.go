package profiles

import (
	"errors"
	"fmt"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/storewatch/storewatch/wire"
)

// StoreProfile is the name of a store's own profile, where devices found
// at the store and added from the console go.
func StoreProfile(store string) string { return "store-" + store }

// NewDevice is a device to monitor, as the console's "add" form gives it.
type NewDevice struct {
	ID       string `yaml:"id"`
	Kind     string `yaml:"kind"`
	Driver   string `yaml:"driver"`
	Address  string `yaml:"address"`
	Location string `yaml:"location,omitempty"`
}

// AddDevice adds a device to the store's own profile (making it, for
// the store's agent, if it has none), checked like every profile, and
// sends the agent its new configuration.
func (s *Service) AddDevice(id wire.AgentID, d NewDevice, by string) (Entry, error) {
	for _, v := range []string{d.ID, d.Kind, d.Driver, d.Address, d.Location} {
		if strings.Contains(v, "{{") || strings.Contains(v, "}}") {
			return Entry{}, errors.New("a device's settings may not contain {{ or }}")
		}
	}
	if d.ID == "" || d.Kind == "" || d.Driver == "" || d.Address == "" {
		return Entry{}, errors.New("a device needs an id, a kind, a driver and an address")
	}
	name := StoreProfile(id.Store)
	p := &Profile{Tenant: id.Tenant, Name: name, Agent: id.Agent, Values: map[string]map[string]string{id.Store: {}}}
	if e, err := s.get(id.Tenant, name); err == nil {
		p = &e.Profile
	} else if !errors.Is(err, ErrNotFound) {
		return Entry{}, err
	}
	if p.agent() != id.Agent {
		return Entry{}, fmt.Errorf("profile %s is for agent %s, not %s", name, p.agent(), id.Agent)
	}
	b, err := yaml.Marshal([]NewDevice{d})
	if err != nil {
		return Entry{}, err
	}
	p.Devices += string(b)
	return s.Put(p, by)
}
