package incident

import (
	"errors"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// The engine and its state: stores, agents, devices and their alerts, the
// live incidents, and the lookups that create them on first sight.

// Author is the name the engine signs its timeline entries with.
const Author = "storehub"

// Config configures an Engine.
type Config struct {
	Policy  Policy
	Targets sla.Targets
	Clock   clock.Clock
	// Numbers, for one partition's engine of several (hub/cluster): the
	// incident numbers it hands out are the ones that leave Offset when
	// divided by Stride (the partition and the number of partitions), so
	// that engines of different partitions never hand out the same one.
	// Zero: every number.
	Numbers Numbering
	// NoOutageIncident, for a partition's engine other than the first of
	// several (hub/cluster): it holds store decisions back while it cannot
	// hear (its session's broker connection down, a mass silence) as any
	// engine does, but opens no hub-level incident: that one is partition
	// 0's, and one live incident per fingerprint is the store's rule.
	NoOutageIncident bool
}

// Numbering divides incident numbers among engines.
type Numbering struct{ Stride, Offset uint64 }

// next is the smallest number after last that is the engine's.
func (n Numbering) next(last uint64) uint64 {
	if n.Stride <= 1 {
		return last + 1
	}
	next := last + 1
	return next + (n.Offset%n.Stride+n.Stride-next%n.Stride)%n.Stride
}

// Outcome says what the engine did with a message.
type Outcome int

// Outcomes.
const (
	Applied    Outcome = iota
	Duplicate          // (agent, seq) already seen
	OutOfOrder         // older than what the device already reported
	Ignored            // presence that changes nothing, or a will from an earlier boot
)

func (o Outcome) String() string {
	return [...]string{"applied", "duplicate", "out_of_order", "ignored"}[o]
}

// Errors of the incident actions.
var (
	ErrNotFound = errors.New("no such live incident")
	ErrBadInput = errors.New("bad input")
)

// Engine is the incident engine. It is safe for concurrent use; every method
// returns the Changes to commit.
type Engine struct {
	mu      sync.Mutex
	pol     Policy
	targets sla.Targets
	clk     clock.Clock

	stores   map[string]*storeState // tenant/store
	agents   map[string]*agentState // tenant/store/agent
	ndevices int                    // devices in all stores
	alerts   map[string]*alert      // fingerprint
	live     map[string]*Incident   // incident id -> live incident (any kind)
	byAlert  map[string]*alert      // incident id -> its alert (fault and agent kinds)
	chronic  map[string]*Incident   // fingerprint -> live chronic incident
	chronicT map[string]time.Time   // fingerprint -> when the last chronic incident opened
	episodes map[string][]time.Time // fingerprint -> episode starts within the chronic window
	windows  map[string]Window
	names    names           // interned strings of device records
	zones    zones           // loaded time zones, by name
	dirty    map[string]bool // stores whose devices changed since the last tick
	recheck  bool            // something global changed: evaluate every alert at the next tick
	holding  bool            // between Hold and Release

	counted   map[string]census // per tick: store/kind device counts for priorities
	changed   []*alert          // alerts marked dirty since the last tick
	deadlines deadlines         // when alerts next need evaluating
	lastID    uint64
	numbers   Numbering
	lastWin   uint64
	ch        Changes
	spares    []Changes // arrays given back by Recycle, for the next change sets

	outage       outage    // the hub's own: it cannot hear its stores
	listenUntil  time.Time // catching up (catchup.go): no decisions before it or Heard; zero: deciding
	outageSilent bool      // Config.NoOutageIncident
	online       int       // agents online
}

type storeState struct {
	rec     StoreRecord
	loc     *time.Location
	devices map[string]*deviceState // by device id
	live    map[string]*Incident    // live fault incidents, for re-prioritising
}

type agentState struct {
	rec AgentRecord
}

type deviceState struct {
	rec    DeviceRecord
	alerts []*alert // one per fault code the device has had; nil for most devices
	agent  *agentState
}

// alert returns the device's alert for a fault code, if any. A device has
// a handful of fault codes at most: a slice is smaller than a map.
func (d *deviceState) alert(code wire.FaultCode) *alert {
	for _, a := range d.alerts {
		if a.code == code {
			return a
		}
	}
	return nil
}

// setAlert records the device's alert for a fault code.
func (d *deviceState) setAlert(code wire.FaultCode, a *alert) {
	for i, old := range d.alerts {
		if old.code == code {
			d.alerts[i] = a
			return
		}
	}
	d.alerts = append(d.alerts, a)
}

// dropAlert forgets a, if it is the device's alert for its code.
func (d *deviceState) dropAlert(a *alert) {
	if i := slices.Index(d.alerts, a); i >= 0 {
		d.alerts = slices.Delete(d.alerts, i, i+1)
	}
}

type alert struct {
	key                          string
	kind                         Kind
	tenant, store, agent, device string
	code                         wire.FaultCode
	fault                        wire.Fault

	faultState           // present or not, since when, flapping (fault.go)
	counted    bool      // the current episode is recorded for chronic detection
	closedEp   time.Time // the episode a person closed: it opens nothing more

	inc *Incident

	dev    *deviceState // nil for an agent's alert
	st     *storeState
	dirty  bool      // changed since it was last evaluated
	next   time.Time // when it next needs evaluating (zero: only when something changes)
	queued time.Time // the deadline it has in the heap (zero: none)
}

// New returns an engine with no state.
func New(cfg Config) *Engine {
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Targets == nil {
		cfg.Targets = sla.DefaultTargets()
	}
	return &Engine{
		pol: cfg.Policy, targets: cfg.Targets, clk: cfg.Clock, numbers: cfg.Numbers, outageSilent: cfg.NoOutageIncident,
		stores: map[string]*storeState{}, agents: map[string]*agentState{}, names: names{}, zones: zones{},
		alerts: map[string]*alert{}, live: map[string]*Incident{}, byAlert: map[string]*alert{},
		chronic: map[string]*Incident{}, chronicT: map[string]time.Time{}, episodes: map[string][]time.Time{},
		windows: map[string]Window{}, dirty: map[string]bool{}, counted: map[string]census{},
	}
}

// Fingerprint returns the key of a device fault.
func Fingerprint(tenant, store, device string, code wire.FaultCode) string {
	return tenant + "/" + store + "/" + device + "/" + string(code)
}

// agentFingerprint is the key of an agent's offline incident. Device ids
// cannot contain '@', so it never collides with a device.
func agentFingerprint(id wire.AgentID) string {
	return Fingerprint(id.Tenant, id.Store, "@"+id.Agent, wire.FaultAgentOffline)
}

func (e *Engine) take() Changes {
	if e.holding {
		return Changes{}
	}
	c := e.ch
	e.ch = Changes{}
	if n := len(e.spares); n > 0 {
		e.ch, e.spares = e.spares[n-1], e.spares[:n-1]
	}
	return c
}

// maxSpares bounds the change sets Recycle keeps: a pipeline has at most
// three in flight (one committing, one queued, one being built).
const maxSpares = 3

// Recycle gives back a change set once it is committed and nothing reads
// it any more (a pipeline, after its store's Commit returned): the next
// change set appends its agents, devices and log entries into the same
// arrays instead of growing new ones. Those three are most of what the
// engine allocates per event (each batch grew them from nothing, copying
// records of hundreds of bytes at every doubling). c is emptied.
func (e *Engine) Recycle(c *Changes) {
	clear(c.Agents) // no stale record keeps its strings alive
	clear(c.Devices)
	clear(c.Log)
	spare := Changes{Agents: reusable(c.Agents), Devices: reusable(c.Devices), Log: reusable(c.Log)}
	e.mu.Lock()
	switch {
	case cap(e.ch.Agents) == 0 && cap(e.ch.Devices) == 0 && cap(e.ch.Log) == 0:
		// The change set being built has none of its own yet: it takes them.
		e.ch.Agents, e.ch.Devices, e.ch.Log = spare.Agents, spare.Devices, spare.Log
	case len(e.spares) < maxSpares:
		e.spares = append(e.spares, spare)
	}
	e.mu.Unlock()
	*c = Changes{}
}

// maxRecycled bounds the records an array given back may hold: a batch of
// events needs one agent, device and log record per event (at most
// ingest.MaxBatch, 2,048); a batch of inventories, 30 device records each,
// grows far larger arrays, which are left to the collector rather than
// kept for good (three of them were tens of megabytes).
const maxRecycled = 4096

// reusable returns s emptied for reuse, or nil when its array is too
// large to keep.
func reusable[T any](s []T) []T {
	if cap(s) > maxRecycled {
		return nil
	}
	return s[:0]
}

// Hold makes the engine keep every change until Release, instead of
// returning each call's changes: a caller applying a batch then gets one
// change set without copying many small ones together.
func (e *Engine) Hold() {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holding = true
}

// Release returns everything changed since Hold and ends holding.
func (e *Engine) Release() Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.holding = false
	return e.take()
}

func (e *Engine) storeFor(tenant, store string) *storeState {
	k := tenant + "/" + store
	s, ok := e.stores[k]
	if !ok {
		s = &storeState{rec: StoreRecord{Tenant: e.names.of(tenant), Store: e.names.of(store)}, loc: time.UTC, devices: map[string]*deviceState{}, live: map[string]*Incident{}}
		e.stores[k] = s
	}
	return s
}

func (e *Engine) agentFor(id wire.AgentID) *agentState {
	k := id.String()
	a, ok := e.agents[k]
	if !ok {
		a = &agentState{rec: AgentRecord{Tenant: e.names.of(id.Tenant), Store: e.names.of(id.Store), Agent: e.names.of(id.Agent)}}
		e.agents[k] = a
		s := e.storeFor(id.Tenant, id.Store)
		if !slices.Contains(s.rec.Agents, id.Agent) {
			s.rec.Agents = append(s.rec.Agents, a.rec.Agent)
			sort.Strings(s.rec.Agents)
			e.ch.Stores = append(e.ch.Stores, e.storeRecord(s))
		}
	}
	return a
}

func (e *Engine) deviceFor(id wire.AgentID, dev string) *deviceState {
	ag := e.agentFor(id)
	s := e.storeFor(id.Tenant, id.Store)
	d, ok := s.devices[dev]
	if !ok {
		dev = e.names.of(dev)
		d = &deviceState{rec: DeviceRecord{Tenant: s.rec.Tenant, Store: s.rec.Store, Agent: ag.rec.Agent, ID: dev, State: wire.StateUnknown, Reported: wire.StateUnknown}}
		s.devices[dev] = d
		e.ndevices++
	}
	if d.rec.Agent != id.Agent { // the device moved to another agent of the store
		d.rec.Agent = ag.rec.Agent
	}
	d.agent = ag
	return d
}

// emitAgentDevices emits the records of an agent's devices (their state
// turns stale or back with the agent's presence). They are found through
// the store, not a map of the agent's own: a second map per agent, written
// at every event, cost more than this walk at a birth or a will.
func (e *Engine) emitAgentDevices(ag *agentState) {
	s := e.stores[ag.rec.Tenant+"/"+ag.rec.Store]
	if s == nil {
		return
	}
	for _, d := range s.devices {
		if d.agent == ag {
			e.emitDevice(d)
		}
	}
}

// device returns a known device.
func (e *Engine) device(tenant, store, dev string) *deviceState {
	if s := e.stores[tenant+"/"+store]; s != nil {
		return s.devices[dev]
	}
	return nil
}

// stale reports whether the agent is known to be offline.
func (a *agentState) stale() bool { return a.rec.Boot != "" && !a.rec.Online }

func (e *Engine) deviceStale(d *deviceState) bool {
	return d.agent != nil && d.agent.stale()
}

func (e *Engine) storeRecord(s *storeState) StoreRecord {
	r := s.rec
	r.Agents = slices.Clone(r.Agents)
	return r
}

func (e *Engine) agentRecord(a *agentState) AgentRecord {
	r := a.rec
	r.Seq.Missing = slices.Clone(r.Seq.Missing)
	return r
}

func (e *Engine) deviceRecord(d *deviceState) DeviceRecord {
	r := d.rec
	r.Faults = slices.Clone(r.Faults)
	r.Changes = nil
	if n := e.pol.FlapThreshold; n > 0 {
		for _, a := range d.alerts {
			if len(a.transitions) == 0 {
				continue
			}
			if r.Changes == nil {
				r.Changes = map[wire.FaultCode][]time.Time{}
			}
			// A view, not a copy: transitions only ever grow at the end
			// and move their start, so what a view shows is never written
			// again (its capacity ends with it: an append to it copies).
			ts := a.transitions
			r.Changes[a.code] = ts[max(len(ts)-n, 0):len(ts):len(ts)]
		}
	}
	if e.deviceStale(d) {
		r.State = wire.StateStale
	} else {
		r.State = r.Reported
	}
	return r
}

func (e *Engine) emitDevice(d *deviceState) {
	e.ch.Devices = append(e.ch.Devices, e.deviceRecord(d))
	e.dirty[d.rec.Tenant+"/"+d.rec.Store] = true
}
