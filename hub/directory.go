package hub

import (
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/hub/store/postgres"
)

// directory is what the API, the console and remote queries list: the
// stores, agents, devices and live incidents. The one hub's engine is it.
type directory interface {
	Stores() []incident.StoreRecord
	Agents() []incident.AgentRecord
	Devices() []incident.DeviceRecord
	LiveIncidents() []incident.Incident
}

// directoryFresh is how old a replica's listings may be.
const directoryFresh = time.Second

// clusterDirectory is a replica's directory: the database's, which the
// engines of every partition commit to, read at most once a second. The
// replica's own engine only holds what it restored at its start, so every
// replica shows the same data, and a device added since can be queried
// through any of them.
type clusterDirectory struct {
	pg  *postgres.Store
	log *slog.Logger

	mu   sync.Mutex
	at   time.Time
	last listing
}

// listing is one read of everything a directory lists.
type listing struct {
	stores  []incident.StoreRecord
	agents  []incident.AgentRecord
	devices []incident.DeviceRecord
	live    []incident.Incident
}

// maxLive bounds the live incidents listed at once.
const maxLive = 100000

// current reads everything again once the last read is older than
// directoryFresh; a read that fails keeps the last one (logged).
func (d *clusterDirectory) current() listing {
	d.mu.Lock()
	defer d.mu.Unlock()
	if time.Since(d.at) < directoryFresh {
		return d.last
	}
	stores, err1 := d.pg.Stores()
	agents, err2 := d.pg.Agents()
	devices, err3 := d.pg.Devices()
	live, err4 := d.pg.Incidents(store.Filter{Live: true, Limit: maxLive})
	if err := errors.Join(err1, err2, err3, err4); err != nil {
		d.log.Warn("listing from the database; showing the last listing read", "err", err)
		return d.last
	}
	slices.SortFunc(live, func(a, b incident.Incident) int { return strings.Compare(a.ID, b.ID) }) // as the engine lists them
	d.at, d.last = time.Now(), listing{stores, agents, devices, live}
	return d.last
}

func (d *clusterDirectory) Stores() []incident.StoreRecord     { return d.current().stores }
func (d *clusterDirectory) Agents() []incident.AgentRecord     { return d.current().agents }
func (d *clusterDirectory) Devices() []incident.DeviceRecord   { return d.current().devices }
func (d *clusterDirectory) LiveIncidents() []incident.Incident { return d.current().live }
