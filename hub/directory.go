package hub

import (
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/wire"
)

// directory is what the API, the console and remote queries list and look
// up: the stores, agents, devices and live incidents. The one hub's engine
// is it (engineDirectory); a replica reads the database (clusterDirectory).
type directory interface {
	Stores() []incident.StoreRecord
	Agents() []incident.AgentRecord
	Devices() []incident.DeviceRecord
	LiveIncidents() []incident.Incident
	query.Directory
}

// engineDirectory is the one hub's directory: its engine, whose look-ups
// cannot fail.
type engineDirectory struct{ *incident.Engine }

func (d engineDirectory) StoreDevices(tenant, store string) ([]incident.DeviceRecord, error) {
	return d.Engine.StoreDevices(tenant, store), nil
}

func (d engineDirectory) Agent(id wire.AgentID) (incident.AgentRecord, bool, error) {
	r, ok := d.Engine.Agent(id)
	return r, ok, nil
}

func (d engineDirectory) Store(tenant, store string) (incident.StoreRecord, bool, error) {
	r, ok := d.Engine.Store(tenant, store)
	return r, ok, nil
}

// directoryFresh is how old a replica's listings may be.
const directoryFresh = time.Second

// clusterDirectory is a replica's directory: the database's, which the
// engines of every partition commit to. The replica's own engine only
// holds what it restored at its start, so every replica shows the same
// data, and a device added since can be queried through any of them.
// Each listing is read again when asked for and older than
// directoryFresh, on its own: listing the stores does not read every
// device. A remote query's look-ups (one store's devices, one agent, one
// store) go to the database each time, by key.
type clusterDirectory struct {
	pg  *postgres.Store
	log *slog.Logger

	mu      sync.Mutex
	stores  listing[incident.StoreRecord]
	agents  listing[incident.AgentRecord]
	devices listing[incident.DeviceRecord]
	live    listing[incident.Incident]
}

// listing is the last read of one kind of record.
type listing[T any] struct {
	at   time.Time
	rows []T
}

// maxLive bounds the live incidents listed at once.
const maxLive = 100000

// current returns l's rows, read again once they are older than
// directoryFresh; a read that fails keeps the last rows (logged).
func current[T any](d *clusterDirectory, l *listing[T], what string, read func() ([]T, error)) []T {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(l.at) < directoryFresh {
		return l.rows
	}
	rows, err := read()
	if err != nil {
		d.log.Warn("listing from the database; showing the last listing read", "what", what, "err", err)
		return l.rows
	}
	l.at, l.rows = time.Now(), rows
	return rows
}

func (d *clusterDirectory) Stores() []incident.StoreRecord {
	return current(d, &d.stores, "stores", d.pg.Stores)
}

func (d *clusterDirectory) Agents() []incident.AgentRecord {
	return current(d, &d.agents, "agents", d.pg.Agents)
}

func (d *clusterDirectory) Devices() []incident.DeviceRecord {
	return current(d, &d.devices, "devices", d.pg.Devices)
}

func (d *clusterDirectory) LiveIncidents() []incident.Incident {
	return current(d, &d.live, "live incidents", func() ([]incident.Incident, error) {
		live, err := d.pg.Incidents(store.Filter{Live: true, Limit: maxLive})
		slices.SortFunc(live, func(a, b incident.Incident) int { return strings.Compare(a.ID, b.ID) }) // as the engine lists them
		return live, err
	})
}

func (d *clusterDirectory) StoreDevices(tenant, store string) ([]incident.DeviceRecord, error) {
	return d.pg.StoreDevices(tenant, store)
}

func (d *clusterDirectory) Agent(id wire.AgentID) (incident.AgentRecord, bool, error) {
	return d.pg.Agent(id)
}

func (d *clusterDirectory) Store(tenant, store string) (incident.StoreRecord, bool, error) {
	return d.pg.StoreRecord(tenant, store)
}
