package incident

import (
	"time"

	"github.com/storewatch/storewatch/wire"
)

// names interns the strings the engine keeps for every device. A chain
// repeats them endlessly (tenant, store and agent across a store's devices;
// device ids, kinds, drivers, locations, vendors, models and states across
// stores), and each decoded message carries its own copies: without
// interning, every device record would hold a dozen small strings of its
// own. The table only grows with the distinct values of fields the engine
// keeps anyway, so it never forgets; serial numbers and fault details,
// which seldom repeat, are not interned.
type names map[string]string

// of returns the table's copy of s.
func (n names) of(s string) string {
	if s == "" {
		return ""
	}
	if c, ok := n[s]; ok {
		return c
	}
	n[s] = s
	return s
}

func (n names) state(s wire.HealthState) wire.HealthState { return wire.HealthState(n.of(string(s))) }

// identity interns what repeats across a fleet of one model.
func (n names) identity(id wire.Identity) wire.Identity {
	id.Vendor, id.Model, id.Firmware = n.of(id.Vendor), n.of(id.Model), n.of(id.Firmware)
	if len(id.Extra) == 0 {
		id.Extra = nil
	}
	return id
}

// faults copies fs with interned codes and remedies; nil when empty, so a
// healthy device holds no slice.
func (n names) faults(fs []wire.Fault) []wire.Fault {
	if len(fs) == 0 {
		return nil
	}
	out := make([]wire.Fault, len(fs))
	for i, f := range fs {
		f.Code, f.Remedy = wire.FaultCode(n.of(string(f.Code))), wire.Remedy(n.of(string(f.Remedy)))
		out[i] = f
	}
	return out
}

// zones shares one *time.Location per time zone name: a loaded location
// holds the zone's whole transition table (kilobytes), and a chain's stores
// are in a handful of zones.
type zones map[string]*time.Location

// load returns the location named name, UTC for "" or a name that does not
// load.
func (z zones) load(name string) *time.Location {
	if name == "" {
		return time.UTC
	}
	if loc, ok := z[name]; ok {
		return loc
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	z[name] = loc
	return loc
}
