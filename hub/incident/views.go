package incident

import (
	"cmp"
	"slices"
	"sort"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// Read-only snapshots of the engine's state for the API and the console.

// Windows returns the maintenance windows, by start.
func (e *Engine) Windows() []Window {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]Window, 0, len(e.windows))
	for _, w := range e.windows {
		out = append(out, w)
	}
	sort.Slice(out, func(i, j int) bool {
		return out[i].Start.Before(out[j].Start) || out[i].Start.Equal(out[j].Start) && out[i].ID < out[j].ID
	})
	return out
}

// Agents returns every agent, sorted.
func (e *Engine) Agents() []AgentRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return sortedOf(e.agents, e.agentRecord, func(r AgentRecord) string { return r.ID().String() })
}

// Agent returns what the hub knows about one agent.
func (e *Engine) Agent(id wire.AgentID) (AgentRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	a, ok := e.agents[id.String()]
	if !ok {
		return AgentRecord{}, false
	}
	return e.agentRecord(a), true
}

// Devices returns every device, sorted, with stale state for offline agents.
func (e *Engine) Devices() []DeviceRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]DeviceRecord, 0, e.ndevices)
	for _, s := range e.stores {
		for _, d := range s.devices {
			out = append(out, e.deviceRecord(d))
		}
	}
	// Field by field, as the PostgreSQL store orders them (tenant, store,
	// device), not by joined keys: joining allocated two strings per
	// comparison, millions for a fleet's listing, and put tenant "a-b"
	// before tenant "a" ('-' sorts below '/').
	slices.SortFunc(out, func(a, b DeviceRecord) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.Store, b.Store), strings.Compare(a.ID, b.ID))
	})
	return out
}

// Stores returns every store, sorted.
func (e *Engine) Stores() []StoreRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	return sortedOf(e.stores, e.storeRecord, func(r StoreRecord) string { return r.Tenant + "/" + r.Store })
}

// Live returns the live incident with id, if any.
func (e *Engine) Live(id string) (Incident, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, ok := e.live[id]
	if !ok {
		return Incident{}, false
	}
	return *inc, true
}

// LiveIncidents returns every live incident, by id.
func (e *Engine) LiveIncidents() []Incident {
	e.mu.Lock()
	defer e.mu.Unlock()
	return sortedOf(e.live, func(inc *Incident) Incident { return *inc }, func(inc Incident) string { return inc.ID })
}

// sortedOf returns the record of every value of m, sorted by key.
func sortedOf[K comparable, V, R any](m map[K]V, record func(V) R, key func(R) string) []R {
	out := make([]R, 0, len(m))
	for _, v := range m {
		out = append(out, record(v))
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i]) < key(out[j]) })
	return out
}
