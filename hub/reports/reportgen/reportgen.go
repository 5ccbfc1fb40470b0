package reportgen

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// Agent is the agent id every generated store uses.
const Agent = "backoffice"

// NoiseTenant is the tenant of the noise a seed adds: a report of another
// tenant must not see it.
const NoiseTenant = "noise"

// Store is one store and its time zone ("" for none: UTC), with the name
// the hub shows (default: its id).
type Store struct {
	Tenant, ID, TimeZone string
	Name                 string
}

// Device is one device, installed as Vendor/Model at Installed and swapped
// for other models by Swaps.
type Device struct {
	Tenant, Store, ID, Kind string
	Vendor, Model           string
	Installed               time.Time
	Swaps                   []Swap
}

// Swap replaces the device under the same id with another model at At.
type Swap struct {
	At            time.Time
	Vendor, Model string
}

// Episode is one fault on one device, from Start for Duration.
type Episode struct {
	Tenant, Store, Device string
	Code                  wire.FaultCode
	Start                 time.Time
	Duration              time.Duration
}

// Outage is the store's agent offline from Start for Duration.
type Outage struct {
	Tenant, Store string
	Start         time.Time
	Duration      time.Duration
}

// World is the history to write. A device id given twice adds a record of
// the device at the later entry's Installed time (the hub writes one at
// every event). Incidents are written as given (IDs are assigned when empty,
// tickets get the device's identity and the fault's vocabulary entry), each
// with its "opened" log entry at OpenedAt and its ending entry at ClosedAt.
type World struct {
	Stores    []Store
	Devices   []Device
	Episodes  []Episode
	Outages   []Outage
	Incidents []incident.Incident
	// From and To bound where the seed's noise goes.
	From, To time.Time
}

// identityAt is the vendor and model of d at t.
func (d *Device) identityAt(t time.Time) (vendor, model string) {
	vendor, model = d.Vendor, d.Model
	for _, s := range d.Swaps {
		if !t.Before(s.At) {
			vendor, model = s.Vendor, s.Model
		}
	}
	return vendor, model
}

func (d *Device) record(vendor, model string, at time.Time) incident.DeviceRecord {
	return incident.DeviceRecord{Tenant: d.Tenant, Store: d.Store, Agent: Agent, ID: d.ID, Kind: d.Kind,
		Identity: wire.Identity{Vendor: vendor, Model: model, Serial: "SN-" + d.ID}, State: wire.StateOK, Reported: wire.StateOK, Updated: at}
}

// Committer takes engine change sets, as the hub's store does.
type Committer interface {
	Commit(c incident.Changes) error
}

// Write commits w to st in batches; seed 0 writes it exactly as given, any
// other seed adds noise and shuffles the order of the log (device records
// keep their time order, as the hub receives them).
func Write(st Committer, w World, seed uint64) error {
	var rng *rand.Rand
	if seed != 0 {
		rng = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
		w = withNoise(w, rng)
	}
	devs := map[string]*Device{}
	var records []incident.DeviceRecord
	for i := range w.Devices {
		d := &w.Devices[i]
		if k := d.Tenant + "/" + d.Store + "/" + d.ID; devs[k] == nil {
			devs[k] = d // later entries of the same device are extra records
		}
		records = append(records, d.record(d.Vendor, d.Model, d.Installed))
		for _, s := range d.Swaps {
			records = append(records, d.record(s.Vendor, s.Model, s.At))
		}
	}
	var stores []incident.StoreRecord
	for _, s := range w.Stores {
		stores = append(stores, incident.StoreRecord{Tenant: s.Tenant, Store: s.ID, Info: wire.StoreInfo{Name: cmp.Or(s.Name, s.ID), TimeZone: s.TimeZone}, Agents: []string{Agent}})
	}
	var log []incident.LogEntry
	for _, e := range w.Episodes {
		d := devs[e.Tenant+"/"+e.Store+"/"+e.Device]
		if d == nil {
			return fmt.Errorf("reportgen: episode on unknown device %s/%s/%s", e.Tenant, e.Store, e.Device)
		}
		log = append(log, episodeLog(d, e)...)
	}
	for _, o := range w.Outages {
		log = append(log, outageLog(o)...)
	}
	var incidents []incident.Incident
	for i, inc := range w.Incidents {
		if inc.ID == "" {
			inc.ID = fmt.Sprintf("INC-%06d", i+1)
		}
		inc.Key = incident.Fingerprint(inc.Tenant, inc.Store, inc.Device, inc.Fault)
		inc.DedupKey = incident.DedupKey(inc.Key)
		fillTicket(&inc, devs[inc.Tenant+"/"+inc.Store+"/"+inc.Device])
		incidents = append(incidents, inc)
		log = append(log, incidentLog(&inc, inc.OpenedAt, "opened"))
		switch {
		case inc.State == incident.StateResolved:
			log = append(log, incidentLog(&inc, inc.ClosedAt, "resolved"))
		case inc.State == incident.StateClosed:
			log = append(log, incidentLog(&inc, inc.ClosedAt, "closed"))
		}
	}
	slices.SortStableFunc(records, func(a, b incident.DeviceRecord) int { return a.Updated.Compare(b.Updated) })
	if rng != nil {
		rng.Shuffle(len(log), func(i, j int) { log[i], log[j] = log[j], log[i] })
		rng.Shuffle(len(incidents), func(i, j int) { incidents[i], incidents[j] = incidents[j], incidents[i] })
	}
	batch := func() int {
		if rng == nil {
			return 5000
		}
		return 1 + rng.IntN(400)
	}
	if err := st.Commit(incident.Changes{Stores: stores}); err != nil {
		return err
	}
	if err := inBatches(records, batch, func(xs []incident.DeviceRecord) error { return st.Commit(incident.Changes{Devices: xs}) }); err != nil {
		return err
	}
	if err := inBatches(incidents, batch, func(xs []incident.Incident) error { return st.Commit(incident.Changes{Incidents: xs}) }); err != nil {
		return err
	}
	return inBatches(log, batch, func(xs []incident.LogEntry) error { return st.Commit(incident.Changes{Log: xs}) })
}

func inBatches[T any](xs []T, size func() int, fn func([]T) error) error {
	for len(xs) > 0 {
		n := min(size(), len(xs))
		if err := fn(xs[:n]); err != nil {
			return fmt.Errorf("reportgen: %w", err)
		}
		xs = xs[n:]
	}
	return nil
}

// fillTicket gives an incident what the engine puts on its ticket: the
// device's identity when it opened and the fault's vocabulary entry.
func fillTicket(inc *incident.Incident, d *Device) {
	t := &inc.Facts
	if d != nil && t.Model == "" && t.Vendor == "" {
		t.DeviceKind = d.Kind
		t.Vendor, t.Model = d.identityAt(inc.OpenedAt)
	}
	if info, ok := wire.Lookup(inc.Fault); ok && t.Severity == 0 {
		t.Severity, t.Remedy, t.Runbook = info.Severity, info.Remedy, info.Meaning
	}
}

// episodeLog is what the engine logs for one fault episode: the state
// changes at its start and end, and the episode at its end with the
// device's identity then.
func episodeLog(d *Device, e Episode) []incident.LogEntry {
	end := e.Start.Add(e.Duration)
	vendor, model := d.identityAt(end)
	state := string(wire.StateOf([]wire.Fault{wire.NewFault(e.Code, "")}))
	base := incident.LogEntry{Kind: incident.LogState, Tenant: e.Tenant, Store: e.Store, Agent: Agent, Device: e.Device,
		DevKind: d.Kind, Vendor: vendor, Model: model}
	on, off, ep := base, base, base
	on.At, on.Since, on.State, on.Faults = e.Start, e.Start, state, []wire.FaultCode{e.Code}
	off.At, off.Since, off.State = end, end, string(wire.StateOK)
	ep.Kind, ep.At, ep.Since, ep.Faults, ep.Duration = incident.LogEpisode, end, e.Start, []wire.FaultCode{e.Code}, e.Duration.Seconds()
	return []incident.LogEntry{on, off, ep}
}

// outageLog is what the engine logs for an agent outage: presence both
// ways and the agent_offline episode (no device).
func outageLog(o Outage) []incident.LogEntry {
	end := o.Start.Add(o.Duration)
	return []incident.LogEntry{
		{At: o.Start, Kind: incident.LogPresence, Tenant: o.Tenant, Store: o.Store, Agent: Agent, State: "offline"},
		{At: end, Kind: incident.LogPresence, Tenant: o.Tenant, Store: o.Store, Agent: Agent, State: "online"},
		{At: end, Kind: incident.LogEpisode, Tenant: o.Tenant, Store: o.Store, Agent: Agent, Faults: []wire.FaultCode{wire.FaultAgentOffline},
			Since: o.Start, Duration: o.Duration.Seconds()},
	}
}

func incidentLog(inc *incident.Incident, at time.Time, state string) incident.LogEntry {
	return incident.LogEntry{At: at, Kind: incident.LogIncident, Tenant: inc.Tenant, Store: inc.Store, Agent: inc.Agent,
		Device: inc.Device, DevKind: inc.Facts.DeviceKind, Vendor: inc.Facts.Vendor, Model: inc.Facts.Model, State: state,
		Faults: []wire.FaultCode{inc.Fault}, Since: inc.FirstSeen, Incident: inc.ID, Detail: string(inc.Kind)}
}

// withNoise adds, within w.From..w.To, what no figure of a report of w's
// tenants may count: warning and info episodes on w's devices, device
// records repeating an identity or carrying none, agent outages, and a
// whole other tenant with failures and incidents.
func withNoise(w World, rng *rand.Rand) World {
	span := w.To.Sub(w.From)
	at := func() time.Time { return w.From.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second) }
	w.Episodes = slices.Clone(w.Episodes)
	w.Devices = slices.Clone(w.Devices)
	notFailures := []wire.FaultCode{wire.FaultPaperLow, wire.FaultDrawerOpen, wire.FaultScaleUnstable, wire.FaultMaintenanceDue, wire.FaultPTBusy}
	for _, d := range w.Devices {
		for range 1 + rng.IntN(3) {
			w.Episodes = append(w.Episodes, Episode{Tenant: d.Tenant, Store: d.Store, Device: d.ID,
				Code: notFailures[rng.IntN(len(notFailures))], Start: at(), Duration: time.Duration(1+rng.IntN(240)) * time.Minute})
		}
	}
	for _, s := range w.Stores {
		w.Outages = append(w.Outages, Outage{Tenant: s.Tenant, Store: s.ID, Start: at(), Duration: time.Duration(1+rng.IntN(600)) * time.Minute})
	}
	// Repeated records: the hub writes a device record at every event. A
	// repeat of the current identity, or one without identity, starts no
	// new install.
	n := len(w.Devices)
	for i := range n {
		d := w.Devices[i]
		later := d.Installed.Add(time.Duration(rng.Int64N(int64(time.Hour))))
		v, m := d.identityAt(later)
		blank := d
		blank.Vendor, blank.Model, blank.Swaps = "", "", nil
		repeat := d
		repeat.Vendor, repeat.Model, repeat.Swaps = v, m, nil
		// These are written as extra records of the same device; Write
		// sorts records by time, so they land after the install.
		blank.Installed, repeat.Installed = later, later.Add(time.Second)
		w.Devices = append(w.Devices, blank, repeat)
	}
	other := Store{Tenant: NoiseTenant, ID: "elsewhere", TimeZone: "Europe/Lisbon"}
	w.Stores = append(w.Stores, other)
	for i := range 5 {
		d := Device{Tenant: other.Tenant, Store: other.ID, ID: fmt.Sprintf("p%d", i), Kind: "receipt_printer",
			Vendor: "EPSON", Model: "TM-T88VI", Installed: w.From.Add(-time.Hour)}
		w.Devices = append(w.Devices, d)
		w.Episodes = append(w.Episodes, Episode{Tenant: d.Tenant, Store: d.Store, Device: d.ID, Code: wire.FaultPaperJam,
			Start: at(), Duration: time.Duration(1+rng.IntN(60)) * time.Minute})
		opened := at()
		w.Incidents = append(w.Incidents, incident.Incident{ID: fmt.Sprintf("INC-9%05d", i), Kind: incident.KindFault,
			Tenant: d.Tenant, Store: d.Store, Agent: Agent, Device: d.ID, Fault: wire.FaultPaperJam, State: incident.StateOpen,
			Priority: 1 + rng.IntN(5), OpenedAt: opened, ResponseDue: opened.Add(time.Hour), ResolutionDue: opened.Add(8 * time.Hour)})
	}
	return w
}

// FleetSpec describes a random fleet.
type FleetSpec struct {
	Tenant          string
	Stores          int
	DevicesPerStore int
	// FailuresPerDevice failures of each device fall in the period, one in
	// each of as many equal slices of it, so they never overlap.
	FailuresPerDevice int
	From, To          time.Time
	Seed              uint64
}

// FleetTruth is what a report of the whole fleet over the period must
// find, known by construction.
type FleetTruth struct {
	Devices      int
	DeviceMonths float64 // devices x days / 30
	Failures     int
	Downtime     time.Duration
	Incidents    int
}

var fleetModels = []struct{ kind, vendor, model string }{
	{"receipt_printer", "EPSON", "TM-T88VI"},
	{"receipt_printer", "Star", "TSP143"},
	{"label_printer", "Zebra", "ZD421"},
	{"scale", "Mettler Toledo", "Ariva-S"},
	{"scanner", "Zebra", "DS2208"},
	{"payment_terminal", "Ingenico", "Lane/3000"},
}

var fleetZones = []string{"Europe/Berlin", "Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney"}

var fleetFaults = []wire.FaultCode{wire.FaultPaperOut, wire.FaultPaperJam, wire.FaultCoverOpen, wire.FaultUnreachable, wire.FaultScaleZeroError, wire.FaultPTNotReady}

// WriteFleet writes a random fleet to st, a hundred stores at a time:
// every device installed before the period, FailuresPerDevice failures of 1
// minute to 4 hours each per device, half of them with an incident that
// recovered by itself, and a warning episode with each failure (which a
// report must skip).
func WriteFleet(st Committer, s FleetSpec) (FleetTruth, error) {
	rng := rand.New(rand.NewPCG(s.Seed, s.Seed+1))
	var t FleetTruth
	slice := s.To.Sub(s.From) / time.Duration(max(s.FailuresPerDevice, 1))
	if slice < 5*time.Hour {
		return t, fmt.Errorf("reportgen: %d failures per device do not fit the period without overlapping", s.FailuresPerDevice)
	}
	id := 0
	const chunk = 100
	for first := 0; first < s.Stores; first += chunk {
		w := World{From: s.From, To: s.To}
		for si := first; si < min(first+chunk, s.Stores); si++ {
			shop := Store{Tenant: s.Tenant, ID: fmt.Sprintf("s%05d", si), TimeZone: fleetZones[si%len(fleetZones)]}
			w.Stores = append(w.Stores, shop)
			for di := range s.DevicesPerStore {
				m := fleetModels[(si+di)%len(fleetModels)]
				d := Device{Tenant: s.Tenant, Store: shop.ID, ID: fmt.Sprintf("d%02d", di), Kind: m.kind, Vendor: m.vendor, Model: m.model,
					Installed: s.From.Add(-24 * time.Hour)}
				w.Devices = append(w.Devices, d)
				t.Devices++
				for k := range s.FailuresPerDevice {
					dur := time.Duration(1+rng.IntN(240)) * time.Minute
					start := s.From.Add(time.Duration(k) * slice).Add(time.Duration(rng.Int64N(int64(slice - dur - time.Minute))))
					start = start.Truncate(time.Second)
					code := fleetFaults[rng.IntN(len(fleetFaults))]
					w.Episodes = append(w.Episodes, Episode{Tenant: s.Tenant, Store: shop.ID, Device: d.ID, Code: code, Start: start, Duration: dur},
						Episode{Tenant: s.Tenant, Store: shop.ID, Device: d.ID, Code: wire.FaultPaperLow, Start: start, Duration: dur / 2})
					t.Failures++
					t.Downtime += dur
					if rng.IntN(2) == 0 {
						id++
						opened := start.Add(dur / 2)
						w.Incidents = append(w.Incidents, incident.Incident{ID: fmt.Sprintf("INC-%07d", id), Kind: incident.KindFault,
							Tenant: s.Tenant, Store: shop.ID, Agent: Agent, Device: d.ID, Fault: code, State: incident.StateResolved,
							Resolution: incident.ResolutionRecovered, Priority: 1 + rng.IntN(5), OpenedAt: opened,
							ResponseDue: opened.Add(time.Hour), ResolutionDue: opened.Add(8 * time.Hour), ClosedAt: start.Add(dur)})
						t.Incidents++
					}
				}
			}
		}
		if err := Write(st, w, 0); err != nil {
			return t, err
		}
	}
	t.DeviceMonths = float64(t.Devices) * s.To.Sub(s.From).Hours() / (30 * 24)
	return t, nil
}
