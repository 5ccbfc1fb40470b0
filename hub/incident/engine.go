package incident

import (
	"container/heap"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/internal/clock"
	"github.com/storewatch/storewatch/wire"
)

// Author is the name the engine signs its timeline entries with.
const Author = "storehub"

// Config configures an Engine.
type Config struct {
	Policy  Policy
	Targets sla.Targets
	Clock   clock.Clock
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
	lastWin   uint64
	ch        Changes
}

type storeState struct {
	rec     StoreRecord
	loc     *time.Location
	devices map[string]*deviceState // by device id
	live    map[string]*Incident    // live fault incidents, for re-prioritising
}

type agentState struct {
	rec     AgentRecord
	devices map[string]*deviceState // by device id
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

	active   bool
	since    time.Time // when the current (or last) episode began
	seen     time.Time // hub time the episode was first seen
	late     bool      // the episode arrived replayed, long after it was confirmed
	cleared  time.Time // when the fault last cleared
	counted  bool      // the current episode is recorded for chronic detection
	closedEp time.Time // the episode a person closed: it opens nothing more

	transitions []time.Time
	lastChange  time.Time
	flapping    bool

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
		pol: cfg.Policy, targets: cfg.Targets, clk: cfg.Clock,
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
	return c
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

// ---- state lookups ----

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
		a = &agentState{rec: AgentRecord{Tenant: e.names.of(id.Tenant), Store: e.names.of(id.Store), Agent: e.names.of(id.Agent)}, devices: map[string]*deviceState{}}
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
		if old, ok := e.agents[wire.AgentID{Tenant: id.Tenant, Store: id.Store, Agent: d.rec.Agent}.String()]; ok {
			delete(old.devices, d.rec.ID)
		}
		d.rec.Agent = ag.rec.Agent
	}
	ag.devices[d.rec.ID] = d
	d.agent = ag
	return d
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

// ---- inputs ----

// Inventory records a store's description and its devices.
func (e *Engine) Inventory(inv *wire.Inventory, at time.Time) Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := inv.AgentID
	ag := e.agentFor(id)
	ag.rec.LastSeen = at
	if inv.AgentVersion != "" {
		ag.rec.Version = inv.AgentVersion
	}
	s := e.storeFor(id.Tenant, id.Store)
	s.rec.Info = inv.StoreInfo
	s.rec.UpdatedAt = at
	s.loc = e.zones.load(inv.StoreInfo.TimeZone)
	e.ch.Stores = append(e.ch.Stores, e.storeRecord(s))
	for _, di := range inv.Devices {
		d := e.deviceFor(id, di.ID)
		d.rec.Kind, d.rec.Driver, d.rec.Location = e.names.of(di.Kind), e.names.of(di.Driver), e.names.of(di.Location)
		d.rec.Criticality = wire.Criticality(e.names.of(string(di.Criticality)))
		switch {
		case di.Identity != nil && !di.Identity.IsZero():
			d.rec.Identity = e.names.identity(*di.Identity)
		case d.rec.Identity.IsZero() && di.Expected != nil:
			d.rec.Identity = e.names.identity(*di.Expected)
		}
		if d.rec.LastSeq == 0 && di.State.Valid() {
			d.rec.Reported, d.rec.Holder = e.names.state(di.State), di.Holder
		}
		d.rec.Updated = at
		e.emitDevice(d)
	}
	e.recheckStore(s)
	e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	return e.take()
}

// recheckStore queues every alert of one store for evaluation at the next
// tick: what changed (its trading hours, time zone, devices, a maintenance
// window) matters to no other store's alerts. A global recheck (recheck)
// evaluates every alert of the fleet instead, which during a chain's opening
// burst, a store's inventory after another's, made each batch cost as much
// as the fleet's alerts.
func (e *Engine) recheckStore(s *storeState) {
	for _, d := range s.devices {
		for _, a := range d.alerts {
			e.markDirty(a)
		}
	}
	for _, agent := range s.rec.Agents {
		if a := e.alerts[agentFingerprint(wire.AgentID{Tenant: s.rec.Tenant, Store: s.rec.Store, Agent: agent})]; a != nil {
			e.markDirty(a)
		}
	}
}

// recheckWindow rechecks the store a maintenance window is for.
func (e *Engine) recheckWindow(w Window) {
	if s := e.stores[w.Tenant+"/"+w.Store]; s != nil {
		e.recheckStore(s)
	}
}

// Status records an agent's birth or will. The boot id pairs them: a will
// from an earlier boot is ignored. Within a boot the connection number does:
// a will of a connection older than the latest birth is the broker's
// takeover of a connection the agent already replaced, not an outage. The
// hub's receipt time is the offline time (a will's payload carries the
// connect time). Agents that do not number connections send 0 and get the
// boot rule only.
func (e *Engine) Status(st *wire.Status, at time.Time) (Changes, Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ag := e.agentFor(st.AgentID)
	ag.rec.LastSeen = at
	// Presence matters to the alerts of the agent's own store only: a
	// chain's stores connecting at once must not each recheck the fleet.
	e.recheckStore(e.storeFor(st.Tenant, st.Store))
	out := Applied
	sameBoot := ag.rec.Boot == st.Boot
	switch st.State {
	case wire.PresenceOnline:
		switch {
		case sameBoot && st.Conn < ag.rec.Conn:
			out = Ignored // a birth of a connection since replaced
		case sameBoot && st.Conn == ag.rec.Conn && (ag.rec.Online || st.Conn != 0):
			out = Ignored // the retained birth again, or one whose will came already
		case sameBoot && ag.rec.Online:
			ag.rec.Conn = st.Conn // reconnected before the broker saw the old connection die
		case !sameBoot && !ag.rec.BootTime.IsZero() && st.Time.Before(ag.rec.BootTime):
			out = Ignored // a birth older than the one we have
		default:
			ag.rec.Online, ag.rec.Boot, ag.rec.BootTime, ag.rec.Since, ag.rec.Conn = true, st.Boot, st.Time, at, st.Conn
			if st.Version != "" {
				ag.rec.Version = st.Version
			}
			for _, d := range ag.devices {
				e.emitDevice(d)
			}
			if a := e.alerts[agentFingerprint(st.AgentID)]; a != nil && a.active {
				e.deactivate(a, at)
			}
			e.logPresence(ag, at, "online")
		}
	case wire.PresenceOffline:
		switch {
		case !sameBoot, st.Conn < ag.rec.Conn:
			ag.rec.IgnoredWills++
			out = Ignored
		case !ag.rec.Online:
			out = Ignored
		default:
			ag.rec.Online, ag.rec.Since, ag.rec.Conn = false, at, st.Conn
			for _, d := range ag.devices {
				e.emitDevice(d)
			}
			k := agentFingerprint(st.AgentID)
			a := e.alerts[k]
			if a == nil {
				a = &alert{key: k, kind: KindAgentOffline, tenant: st.Tenant, store: st.Store, agent: st.Agent,
					code: wire.FaultAgentOffline, fault: wire.NewFault(wire.FaultAgentOffline, ""), st: e.storeFor(st.Tenant, st.Store)}
				e.alerts[k] = a
			}
			e.activate(a, at, at, false)
			e.logPresence(ag, at, "offline")
		}
	}
	e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	return e.take(), out
}

func (e *Engine) logPresence(ag *agentState, at time.Time, state string) {
	e.ch.Log = append(e.ch.Log, LogEntry{At: at, Kind: LogPresence, Tenant: ag.rec.Tenant, Store: ag.rec.Store, Agent: ag.rec.Agent, State: state, Detail: "boot " + ag.rec.Boot})
}

// Metrics records an agent's heartbeat (samples are for reports, not for
// incidents).
func (e *Engine) Metrics(m *wire.Metrics, at time.Time) (Changes, Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ag := e.agentFor(m.AgentID)
	if !ag.rec.Seq.Observe(m.Seq) {
		e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
		return e.take(), Duplicate
	}
	ag.rec.LastSeen = at
	if m.Heartbeat != nil {
		hb := *m.Heartbeat
		ag.rec.Heartbeat = &hb
	}
	e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	return e.take(), Applied
}

// Event applies a device health state change. Duplicates (agent, seq) and
// events older than the device's latest change nothing but the counters.
func (e *Engine) Event(ev *wire.Event, at time.Time) (Changes, Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ag := e.agentFor(ev.AgentID)
	if !ag.rec.Seq.Observe(ev.Seq) {
		e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
		return e.take(), Duplicate
	}
	ag.rec.LastSeen = at
	e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	d := e.deviceFor(ev.AgentID, ev.Device)
	if ev.Seq <= d.rec.LastSeq {
		return e.take(), OutOfOrder
	}
	since := ev.Since
	if since.After(at) {
		since = at // an agent clock running ahead must not delay the hold-down
	}
	if ev.Kind != "" {
		d.rec.Kind = e.names.of(ev.Kind)
	}
	if ev.Identity != nil && !ev.Identity.IsZero() {
		d.rec.Identity = e.names.identity(*ev.Identity)
	}
	faults := e.names.faults(ev.Faults)
	d.rec.Holder = nil
	if ev.State == wire.StateBusy {
		// The POS application has the device: nothing could be read, so
		// the faults last known stay on show (and their alerts stay as
		// they are, below), with who holds it.
		faults, d.rec.Holder = d.rec.Faults, ev.Holder
	}
	d.rec.Reported, d.rec.Faults, d.rec.Since, d.rec.LastSeq, d.rec.Updated = e.names.state(ev.State), faults, since, ev.Seq, at
	e.emitDevice(d)
	for _, a := range d.alerts {
		e.markDirty(a)
	}
	codes := make([]wire.FaultCode, len(ev.Faults))
	for i, f := range ev.Faults {
		codes[i] = f.Code
	}
	e.ch.Log = append(e.ch.Log, LogEntry{At: at, Kind: LogState, Tenant: ev.Tenant, Store: ev.Store, Agent: ev.Agent,
		Device: ev.Device, DevKind: d.rec.Kind, Vendor: d.rec.Identity.Vendor, Model: d.rec.Identity.Model,
		Firmware: d.rec.Identity.Firmware, State: string(ev.State), Faults: codes, Since: since, Detail: ev.Reason})

	if ev.State == wire.StateUnknown || ev.State == wire.StateBusy {
		return e.take(), Applied // no information: alerts stay as they are (and frozen, see Tick)
	}
	late := at.Sub(ev.Time) > e.pol.LateAfter
	present := map[wire.FaultCode]bool{}
	for _, f := range ev.Faults {
		present[f.Code] = true
		a := d.alert(f.Code)
		if a == nil {
			k := Fingerprint(ev.Tenant, ev.Store, ev.Device, f.Code)
			a = e.alerts[k]
			if a == nil {
				a = &alert{key: k, kind: KindFault, tenant: d.rec.Tenant, store: d.rec.Store, device: d.rec.ID, code: f.Code}
				e.alerts[k] = a
			}
			a.dev, a.st = d, e.storeFor(ev.Tenant, ev.Store)
			d.setAlert(f.Code, a)
		}
		a.agent, a.fault = d.rec.Agent, f
		if !a.active {
			e.activate(a, since, at, late)
		}
	}
	for _, a := range d.alerts {
		if !present[a.code] && a.active {
			e.deactivate(a, since)
		}
	}
	// Keep the ticket's picture of the device current.
	for _, a := range d.alerts {
		if a.inc != nil && a.inc.State.Live() {
			e.fillTicket(a.inc, a)
			e.touch(a.inc, at)
		}
	}
	return e.take(), Applied
}

func (e *Engine) activate(a *alert, since, seen time.Time, late bool) {
	a.active, a.since, a.seen, a.late, a.counted = true, since, seen, late, false
	e.transition(a, since)
	if a.inc != nil && a.inc.State.Live() {
		a.inc.Occurrences++
		a.inc.Active = true
		if !a.inc.RecoveredAt.IsZero() {
			a.inc.RecoveredAt = time.Time{}
			e.entry(a.inc, seen, EntryOccurrence, fmt.Sprintf("%s is back since %s", a.code, e.local(a, since)))
			if !a.flapping {
				e.notify(a.inc, NotifyUpdated, seen, "the fault came back")
			}
		}
		e.touch(a.inc, seen)
	}
}

func (e *Engine) deactivate(a *alert, at time.Time) {
	a.active, a.cleared = false, at
	e.transition(a, at)
	if a.inc != nil && a.inc.State.Live() {
		a.inc.Active = false
		e.touch(a.inc, at)
	}
	le := LogEntry{At: at, Kind: LogEpisode, Tenant: a.tenant, Store: a.store, Agent: a.agent, Device: a.device,
		Faults: []wire.FaultCode{a.code}, Since: a.since, Duration: at.Sub(a.since).Seconds(), Flapping: a.flapping}
	if d := a.dev; d != nil {
		le.DevKind, le.Vendor, le.Model, le.Firmware = d.rec.Kind, d.rec.Identity.Vendor, d.rec.Identity.Model, d.rec.Identity.Firmware
	}
	if a.inc != nil {
		le.Incident = a.inc.ID
	} else {
		le.Suppressed = e.suppression(a, at)
	}
	e.ch.Log = append(e.ch.Log, le)
}

// suppression says why an episode that ended opened nothing.
func (e *Engine) suppression(a *alert, end time.Time) string {
	r := e.rule(a)
	switch {
	case r.Never:
		return "never"
	case end.Sub(a.since) < r.HoldDown:
		return "hold_down"
	}
	if s := e.stores[a.tenant+"/"+a.store]; s != nil && len(s.rec.Info.Hours) > 0 && !s.rec.Info.Hours.IsOpen(a.since, s.loc) {
		return "closed"
	}
	for _, w := range e.windows {
		if w.Covers(a.tenant, a.store, a.device, a.since) {
			return "maintenance"
		}
	}
	return "grace"
}

func (e *Engine) transition(a *alert, t time.Time) {
	e.markDirty(a)
	if t.After(a.lastChange) {
		a.lastChange = t
	}
	a.transitions = append(a.transitions, t)
	cut := 0
	for cut < len(a.transitions) && a.transitions[cut].Before(t.Add(-e.pol.FlapWindow)) {
		cut++
	}
	a.transitions = a.transitions[cut:]
	if e.pol.FlapThreshold > 0 && len(a.transitions) >= e.pol.FlapThreshold && !a.flapping {
		a.flapping = true
		if a.inc != nil && a.inc.State.Live() {
			e.markFlapping(a.inc, a, t, true)
		}
	}
}

func (e *Engine) markFlapping(inc *Incident, a *alert, at time.Time, on bool) {
	inc.Flapping = on
	if on {
		inc.Flaps = len(a.transitions)
		e.entry(inc, at, EntryFlapping, fmt.Sprintf("%s is flapping: %d changes within %v; the incident stays open until it has been quiet for %v",
			a.code, len(a.transitions), e.pol.FlapWindow, e.pol.FlapQuiet))
		e.notify(inc, NotifyFlapping, at, "flapping")
	} else {
		e.entry(inc, at, EntryFlapping, fmt.Sprintf("%s stopped flapping (quiet for %v)", a.code, e.pol.FlapQuiet))
		e.notify(inc, NotifyUpdated, at, "no longer flapping")
	}
	e.touch(inc, at)
}

// ---- time ----

// Tick opens, resolves and re-prioritises whatever is due at the clock's now.
func (e *Engine) Tick() Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	clear(e.counted)
	due := e.changed
	e.changed = nil
	if e.recheck {
		due = due[:0]
		for _, a := range e.alerts {
			a.queued = time.Time{}
			due = append(due, a)
		}
		e.deadlines = e.deadlines[:0]
		e.recheck = false
	}
	for len(e.deadlines) > 0 && !e.deadlines[0].at.After(now) {
		d := heap.Pop(&e.deadlines).(deadline)
		if d.valid(e) {
			d.a.queued = time.Time{}
			due = append(due, d.a)
		}
	}
	sort.Slice(due, func(i, j int) bool { return due[i].key < due[j].key })
	var last *alert
	for _, a := range due {
		if a == last || e.alerts[a.key] != a {
			continue // listed twice, or deleted by an earlier evaluation
		}
		last = a
		e.evaluate(a, now)
		a.dirty = false
		a.next = e.nextFor(a, now)
		if !a.next.IsZero() && !a.queued.Equal(a.next) && e.alerts[a.key] == a {
			heap.Push(&e.deadlines, deadline{a.next, a})
			a.queued = a.next
		}
	}
	e.reprioritise(now)
	return e.take()
}

// markDirty queues an alert for evaluation at the next tick.
func (e *Engine) markDirty(a *alert) {
	if !a.dirty {
		a.dirty = true
		e.changed = append(e.changed, a)
	}
}

// deadline is an alert's next evaluation time; deadlines is a min-heap of
// them. Entries go stale when the alert's next changes; they are skipped.
type deadline struct {
	at time.Time
	a  *alert
}

// valid reports whether the entry is still the alert's queued deadline.
func (d deadline) valid(e *Engine) bool { return d.a.queued.Equal(d.at) && e.alerts[d.a.key] == d.a }

type deadlines []deadline

func (h deadlines) Len() int           { return len(h) }
func (h deadlines) Less(i, j int) bool { return h[i].at.Before(h[j].at) }
func (h deadlines) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *deadlines) Push(x any)        { *h = append(*h, x.(deadline)) }
func (h *deadlines) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func (e *Engine) frozen(a *alert) bool {
	if a.kind != KindFault {
		return false
	}
	d := a.dev
	return d == nil || d.rec.Reported == wire.StateUnknown || d.rec.Reported == wire.StateBusy || e.deviceStale(d)
}

func (e *Engine) evaluate(a *alert, now time.Time) {
	if e.frozen(a) {
		return
	}
	if a.flapping && !now.Before(a.lastChange.Add(e.pol.FlapQuiet)) {
		a.flapping, a.transitions = false, nil
		if a.inc != nil && a.inc.State.Live() {
			e.markFlapping(a.inc, a, now, false)
		}
	}
	if a.active && !a.counted && !now.Before(a.since.Add(e.pol.ChronicMin)) {
		a.counted = true
		e.recordEpisode(a, now)
	}
	switch {
	case a.inc == nil && (a.active || a.flapping):
		if t, ok := e.openAt(a, now); ok && !t.After(now) {
			e.open(a, now)
		}
	case a.inc != nil && a.inc.State.Live() && a.inc.RecoveredAt.IsZero() && !a.active && !a.flapping:
		if !now.Before(a.cleared.Add(e.rule(a).HoldUp)) {
			e.recover(a, now)
		}
	}
	if a.inc == nil && !a.active && !a.flapping && now.Sub(a.lastChange) > e.pol.FlapWindow {
		delete(e.alerts, a.key)
		if d := a.dev; d != nil {
			d.dropAlert(a)
		}
	}
}

// NextDeadline returns when Tick next has something to do (the zero time if
// nothing is pending). Loops sleep until then or until new input arrives.
func (e *Engine) NextDeadline() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	if e.recheck || len(e.dirty) > 0 || len(e.changed) > 0 {
		return now
	}
	for len(e.deadlines) > 0 {
		d := e.deadlines[0]
		if !d.valid(e) {
			heap.Pop(&e.deadlines) // stale
			continue
		}
		if d.at.Before(now) {
			return now
		}
		return d.at
	}
	return time.Time{}
}

// nextFor returns when the alert next needs evaluating if nothing changes.
func (e *Engine) nextFor(a *alert, now time.Time) time.Time {
	if e.frozen(a) {
		return time.Time{}
	}
	var next time.Time
	consider := func(t time.Time) {
		if t.Before(now) {
			t = now
		}
		if next.IsZero() || t.Before(next) {
			next = t
		}
	}
	if a.flapping {
		consider(a.lastChange.Add(e.pol.FlapQuiet))
	}
	if a.active && !a.counted {
		consider(a.since.Add(e.pol.ChronicMin))
	}
	switch {
	case a.inc == nil && (a.active || a.flapping):
		if t, ok := e.openAt(a, now); ok {
			consider(t)
		}
	case a.inc != nil && a.inc.State.Live() && a.inc.RecoveredAt.IsZero() && !a.active && !a.flapping:
		consider(a.cleared.Add(e.rule(a).HoldUp))
	}
	if a.inc == nil && !a.active && !a.flapping {
		consider(a.lastChange.Add(e.pol.FlapWindow + time.Second))
	}
	return next
}

func (e *Engine) rule(a *alert) Rule {
	kind := ""
	if a.dev != nil {
		kind = a.dev.rec.Kind
	}
	return e.pol.For(kind, a.code)
}

// openAt returns the earliest time from now on at which the alert may open an
// incident if nothing changes, or false if it never will.
func (e *Engine) openAt(a *alert, now time.Time) (time.Time, bool) {
	r := e.rule(a)
	if (r.Never && !a.flapping) || (a.active && a.since.Equal(a.closedEp) && !a.flapping) {
		return time.Time{}, false
	}
	t := now
	if !a.flapping && a.since.Add(r.HoldDown).After(t) {
		t = a.since.Add(r.HoldDown)
	}
	if a.late && a.seen.Add(e.pol.ReplaySettle).After(t) {
		t = a.seen.Add(e.pol.ReplaySettle)
	}
	s := a.st
	for range 64 {
		moved := false
		if s != nil && len(s.rec.Info.Hours) > 0 {
			since, open := s.rec.Info.Hours.OpenSince(t, s.loc)
			if !open {
				ops := s.rec.Info.Hours.Openings(t, t.Add(8*24*time.Hour), s.loc)
				if len(ops) == 0 {
					return time.Time{}, false
				}
				t, moved = ops[0].From, true
			} else if !since.IsZero() && t.Before(since.Add(e.pol.Grace)) {
				t, moved = since.Add(e.pol.Grace), true
			}
		}
		for _, w := range e.windows {
			if w.Tenant == a.tenant && w.Store == a.store && (w.Device == "" || w.Device == a.device) &&
				!t.Before(w.Start) && t.Before(w.End.Add(e.pol.Grace)) {
				t, moved = w.End.Add(e.pol.Grace), true
			}
		}
		if !moved {
			return t, true
		}
	}
	return t, true
}

func (e *Engine) local(a *alert, t time.Time) string {
	loc := time.UTC
	if s := e.stores[a.tenant+"/"+a.store]; s != nil {
		loc = s.loc
	}
	return t.In(loc).Format("2006-01-02 15:04:05 MST")
}

// ---- incidents ----

func (e *Engine) newID() string {
	e.lastID++
	return fmt.Sprintf("INC-%06d", e.lastID)
}

func (e *Engine) open(a *alert, now time.Time) {
	inc := &Incident{ID: e.newID(), Key: a.key, DedupKey: DedupKey(a.key), Kind: a.kind, Tenant: a.tenant, Store: a.store,
		Agent: a.agent, Device: a.device, Fault: a.code, State: StateOpen, Active: a.active, Flapping: a.flapping,
		FirstSeen: a.since, OpenedAt: now, Occurrences: 1}
	inc.OccurrencesBefore = e.countEpisodes(a.key, now, func(t time.Time) bool { return t.Before(a.since) })
	e.fillTicket(inc, a)
	inc.Title = e.title(inc)
	e.prioritise(inc, now, false)
	a.inc = inc
	e.live[inc.ID] = inc
	e.byAlert[inc.ID] = a
	if a.st != nil && inc.Kind == KindFault {
		a.st.live[inc.ID] = inc
	}
	r := e.rule(a)
	why := fmt.Sprintf("%s since %s (hold-down %v)", a.code, e.local(a, a.since), r.HoldDown)
	if a.flapping {
		why = fmt.Sprintf("%s is flapping: %d changes within %v", a.code, len(a.transitions), e.pol.FlapWindow)
	}
	e.entry(inc, now, EntryOpened, fmt.Sprintf("opened: %s; P%d (impact %d x urgency %d)", why, inc.Priority, inc.Impact, inc.Urgency))
	e.touch(inc, now)
	e.notify(inc, NotifyOpened, now, why)
	e.logIncident(inc, now, "opened")
}

func (e *Engine) recover(a *alert, now time.Time) {
	inc := a.inc
	inc.Active, inc.RecoveredAt = false, a.cleared
	if e.rule(a).OnRecovery == RecoveryComment {
		e.entry(inc, now, EntryComment, fmt.Sprintf("%s cleared at %s and stayed clear for %v; left open for a person to confirm and close",
			a.code, e.local(a, a.cleared), e.rule(a).HoldUp))
		e.touch(inc, now)
		e.notify(inc, NotifyUpdated, now, "recovered; awaiting confirmation")
		e.logIncident(inc, now, "recovered")
		return
	}
	inc.State, inc.Resolution, inc.ClosedAt = StateResolved, ResolutionRecovered, now
	e.entry(inc, now, EntryState, fmt.Sprintf("resolved: recovered by itself (%s cleared at %s, stayed clear for %v)",
		a.code, e.local(a, a.cleared), e.rule(a).HoldUp))
	e.touch(inc, now)
	e.notify(inc, NotifyResolved, now, ResolutionRecovered)
	e.logIncident(inc, now, "resolved")
	e.forget(inc)
}

func (e *Engine) forget(inc *Incident) {
	delete(e.live, inc.ID)
	if s := e.stores[inc.Tenant+"/"+inc.Store]; s != nil {
		delete(s.live, inc.ID)
	}
	if a := e.byAlert[inc.ID]; a != nil && a.inc == inc {
		a.inc = nil
		e.markDirty(a)
	}
	delete(e.byAlert, inc.ID)
	if c := e.chronic[inc.Key]; c == inc {
		delete(e.chronic, inc.Key)
	}
}

func (e *Engine) recordEpisode(a *alert, now time.Time) {
	if a.kind != KindFault {
		return
	}
	e.episodes[a.key] = append(e.episodes[a.key], a.since)
	ep := Episode{Key: a.key, Start: a.since}
	if a.dev != nil {
		ep.Model = a.dev.rec.Identity.Model
	}
	e.ch.Episodes = append(e.ch.Episodes, ep)
	if !e.rule(a).Chronic || e.pol.ChronicCount <= 0 || e.chronic[a.key] != nil {
		return
	}
	after := e.chronicT[a.key]
	n := e.countEpisodes(a.key, now, func(t time.Time) bool { return t.After(after) })
	if n < e.pol.ChronicCount {
		return
	}
	inc := &Incident{ID: e.newID(), Key: a.key + "/chronic", Kind: KindChronic, Tenant: a.tenant, Store: a.store,
		Agent: a.agent, Device: a.device, Fault: a.code, State: StateOpen, Active: a.active, FirstSeen: e.episodes[a.key][0],
		OpenedAt: now, Occurrences: n}
	inc.DedupKey = DedupKey(inc.Key)
	inc.OccurrencesBefore = n - 1
	e.fillTicket(inc, a)
	inc.Title = e.title(inc)
	e.prioritise(inc, now, false)
	e.live[inc.ID] = inc
	e.chronic[a.key] = inc
	e.chronicT[a.key] = now
	why := fmt.Sprintf("%s on %s %d times within %v", a.code, a.device, n, e.pol.ChronicWindow)
	e.entry(inc, now, EntryOpened, "chronic problem: "+why+"; this incident stays open until a person closes it")
	e.touch(inc, now)
	e.notify(inc, NotifyChronic, now, why)
	e.logIncident(inc, now, "opened")
}

// countEpisodes counts the fingerprint's episodes within the chronic window
// that match keep, trimming those that fell out of it.
func (e *Engine) countEpisodes(key string, now time.Time, keep func(time.Time) bool) int {
	eps := e.episodes[key]
	cut := 0
	for cut < len(eps) && eps[cut].Before(now.Add(-e.pol.ChronicWindow)) {
		cut++
	}
	eps = eps[cut:]
	if len(eps) == 0 {
		delete(e.episodes, key)
	} else {
		e.episodes[key] = eps
	}
	n := 0
	for _, t := range eps {
		if keep(t) {
			n++
		}
	}
	return n
}

func (e *Engine) fillTicket(inc *Incident, a *alert) {
	t := &inc.Ticket
	if s := e.stores[a.tenant+"/"+a.store]; s != nil {
		t.StoreName, t.StoreAddress, t.Country, t.TimeZone = s.rec.Info.Name, s.rec.Info.Address, s.rec.Info.Country, s.rec.Info.TimeZone
	}
	if d := e.device(a.tenant, a.store, a.device); d != nil && a.kind != KindAgentOffline {
		t.Location, t.DeviceKind, t.Driver = d.rec.Location, d.rec.Kind, d.rec.Driver
		t.Criticality = string(criticalityOf(d.rec.Kind, d.rec.Criticality))
		t.Vendor, t.Model, t.Serial, t.Firmware = d.rec.Identity.Vendor, d.rec.Identity.Model, d.rec.Identity.Serial, d.rec.Identity.Firmware
		if len(d.rec.Faults) > 0 {
			t.Faults = slices.Clone(d.rec.Faults)
		}
	}
	if len(t.Faults) == 0 && a.fault.Code != "" {
		t.Faults = []wire.Fault{a.fault}
	}
	if info, ok := wire.Lookup(a.code); ok {
		t.Severity, t.Remedy, t.Runbook = info.Severity, info.Remedy, info.Meaning
	}
}

func (e *Engine) title(inc *Incident) string {
	store := inc.Ticket.StoreName
	if store == "" {
		store = inc.Tenant + "/" + inc.Store
	}
	where := inc.Device
	if inc.Ticket.Location != "" {
		where += " (" + inc.Ticket.Location + ")"
	}
	what := []string{}
	if inc.Ticket.Vendor != "" || inc.Ticket.Model != "" {
		what = append(what, strings.TrimSpace(inc.Ticket.Vendor+" "+inc.Ticket.Model))
	}
	switch inc.Kind {
	case KindAgentOffline:
		return fmt.Sprintf("%s: monitoring agent %s offline", store, inc.Agent)
	case KindChronic:
		return fmt.Sprintf("%s: chronic %s on %s %s", store, inc.Fault, where, strings.Join(what, " "))
	}
	return strings.TrimSpace(fmt.Sprintf("%s: %s on %s %s", store, inc.Fault, where, strings.Join(what, " ")))
}

// prioritise computes impact, urgency, priority and SLA due times. It
// reports whether the priority changed.
func (e *Engine) prioritise(inc *Incident, now time.Time, announce bool) bool {
	s := e.stores[inc.Tenant+"/"+inc.Store]
	open := true
	loc := time.UTC
	if s != nil {
		loc = s.loc
		open = len(s.rec.Info.Hours) == 0 || s.rec.Info.Hours.IsOpen(now, s.loc)
	}
	var impact, urgency int
	why := ""
	switch inc.Kind {
	case KindAgentOffline:
		impact, urgency = 1, 2
		if !open {
			urgency = 3
		}
		why = "the whole store is unmonitored"
	case KindChronic:
		impact, urgency = 3, 2
		why = "chronic problem"
	default:
		kind := inc.Ticket.DeviceKind
		var c census
		if s != nil {
			c = e.census(s, kind)
		}
		affected, total := c.affected, c.total
		crit := criticalityOf(kind, "")
		if d := e.device(inc.Tenant, inc.Store, inc.Device); d != nil {
			crit = criticalityOf(d.rec.Kind, d.rec.Criticality)
		}
		impact = Impact(affected, total, crit)
		urgency = Urgency(inc.Ticket.Severity, open)
		why = fmt.Sprintf("%d of %d %s down, %s criticality", max(affected, 1), max(total, 1), kind, crit)
	}
	p := Priority(impact, urgency)
	if p == inc.Priority && impact == inc.Impact && urgency == inc.Urgency {
		return false
	}
	old := inc.Priority
	inc.Impact, inc.Urgency, inc.Priority = impact, urgency, p
	resp, res, err := e.targets.Due(p, inc.OpenedAt, loc)
	if err == nil {
		inc.ResponseDue, inc.ResolutionDue = resp, res
	}
	if announce && old != p {
		e.entry(inc, now, EntryPriority, fmt.Sprintf("priority P%d -> P%d: %s", old, p, why))
		return true
	}
	return false
}

// census counts a store's devices of one kind and those of them that are
// down. Device states do not change during a tick, so the counts are kept
// until the next one.
type census struct{ affected, total int }

func (e *Engine) census(s *storeState, kind string) census {
	k := s.rec.Tenant + "/" + s.rec.Store + "/" + kind
	if c, ok := e.counted[k]; ok {
		return c
	}
	var c census
	for _, d := range s.devices {
		if d.rec.Kind != kind {
			continue
		}
		c.total++
		if (d.rec.Reported == wire.StateFault || d.rec.Reported == wire.StateUnreachable) && !e.deviceStale(d) {
			c.affected++
		}
	}
	e.counted[k] = c
	return c
}

func (e *Engine) reprioritise(now time.Time) {
	if len(e.dirty) == 0 {
		return
	}
	var ids []string
	for k := range e.dirty {
		if s := e.stores[k]; s != nil {
			for id := range s.live {
				ids = append(ids, id)
			}
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		inc := e.live[id]
		old := inc.Priority
		if e.prioritise(inc, now, true) {
			e.touch(inc, now)
			e.notify(inc, NotifyUpdated, now, fmt.Sprintf("priority now P%d", inc.Priority))
			e.ch.Notifications[len(e.ch.Notifications)-1].PreviousPriority = old
		}
	}
	clear(e.dirty)
}

// touch records that an incident changed.
func (e *Engine) touch(inc *Incident, now time.Time) {
	inc.Version++
	inc.UpdatedAt = now
	cp := *inc
	cp.Ticket.Faults = slices.Clone(inc.Ticket.Faults)
	e.ch.Incidents = append(e.ch.Incidents, cp)
}

func (e *Engine) entry(inc *Incident, at time.Time, kind EntryKind, text string) {
	e.entryBy(inc, at, kind, Author, text)
}

func (e *Engine) entryBy(inc *Incident, at time.Time, kind EntryKind, author, text string) {
	e.ch.Timeline = append(e.ch.Timeline, Entry{Incident: inc.ID, At: at, Kind: kind, Author: author, Text: text})
}

func (e *Engine) notify(inc *Incident, kind NotificationKind, at time.Time, text string) {
	cp := *inc
	cp.Ticket.Faults = slices.Clone(inc.Ticket.Faults)
	cp.Version++ // the snapshot describes the incident after this change
	e.ch.Notifications = append(e.ch.Notifications, Notification{Kind: kind, At: at, Incident: cp, Text: text})
	e.entry(inc, at, EntryNotification, fmt.Sprintf("%s notification queued for helpdesk connectors", kind))
}

func (e *Engine) logIncident(inc *Incident, at time.Time, state string) {
	e.ch.Log = append(e.ch.Log, LogEntry{At: at, Kind: LogIncident, Tenant: inc.Tenant, Store: inc.Store, Agent: inc.Agent,
		Device: inc.Device, DevKind: inc.Ticket.DeviceKind, Vendor: inc.Ticket.Vendor, Model: inc.Ticket.Model,
		Firmware: inc.Ticket.Firmware, State: state, Faults: []wire.FaultCode{inc.Fault}, Since: inc.FirstSeen,
		Flapping: inc.Flapping, Incident: inc.ID, Detail: string(inc.Kind)})
}

// ---- actions by people ----

func (e *Engine) liveIncident(verb, id string) (*Incident, error) {
	inc := e.live[id]
	if inc == nil {
		return nil, fmt.Errorf("%s %s: %w", verb, id, ErrNotFound)
	}
	return inc, nil
}

// Acknowledge marks a live incident as being worked on.
func (e *Engine) Acknowledge(id, who string) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, err := e.liveIncident("acknowledge", id)
	if err != nil {
		return Changes{}, err
	}
	if inc.State == StateAcknowledged {
		return Changes{}, nil
	}
	now := e.clk.Now()
	inc.State, inc.AcknowledgedAt = StateAcknowledged, now
	e.entryBy(inc, now, EntryState, who, "acknowledged")
	e.touch(inc, now)
	e.notify(inc, NotifyUpdated, now, "acknowledged by "+who)
	return e.take(), nil
}

// Comment adds a person's comment to a live incident.
func (e *Engine) Comment(id, who, text string) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, err := e.liveIncident("comment on", id)
	if err != nil {
		return Changes{}, err
	}
	if strings.TrimSpace(text) == "" {
		return Changes{}, fmt.Errorf("comment on %s: empty text: %w", id, ErrBadInput)
	}
	now := e.clk.Now()
	e.entryBy(inc, now, EntryComment, who, text)
	e.touch(inc, now)
	e.notify(inc, NotifyUpdated, now, text)
	return e.take(), nil
}

// Close closes a live incident. A person's close ends the current episode:
// if the fault is still present it opens nothing more until it clears and
// comes back.
func (e *Engine) Close(id, who, text string) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc, err := e.liveIncident("close", id)
	if err != nil {
		return Changes{}, err
	}
	msg := "closed"
	if text != "" {
		msg += ": " + text
	}
	e.closeLive(inc, ResolutionClosed, who, text, msg)
	return e.take(), nil
}

// closeLive closes a live incident for a person. The current episode of its
// fault opens nothing more.
func (e *Engine) closeLive(inc *Incident, resolution, who, reason, entry string) {
	now := e.clk.Now()
	if a := e.byAlert[inc.ID]; a != nil && a.active {
		a.closedEp = a.since
	}
	inc.State, inc.Resolution, inc.ClosedAt, inc.ClosedBy, inc.CloseReason = StateClosed, resolution, now, who, reason
	e.entryBy(inc, now, EntryState, who, entry)
	e.touch(inc, now)
	e.notify(inc, NotifyClosed, now, entry)
	e.logIncident(inc, now, "closed")
	e.forget(inc)
}

// ---- maintenance windows ----

// AddWindow records a maintenance window; it gets an id if it has none.
func (e *Engine) AddWindow(w Window) (Window, Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := wire.ValidateSegment(w.Tenant); err != nil {
		return w, Changes{}, fmt.Errorf("window tenant: %v: %w", err, ErrBadInput)
	}
	if err := wire.ValidateSegment(w.Store); err != nil {
		return w, Changes{}, fmt.Errorf("window store: %v: %w", err, ErrBadInput)
	}
	if w.Device != "" {
		if err := wire.ValidateSegment(w.Device); err != nil {
			return w, Changes{}, fmt.Errorf("window device: %v: %w", err, ErrBadInput)
		}
	}
	if w.Start.IsZero() || !w.End.After(w.Start) {
		return w, Changes{}, fmt.Errorf("window: end must be after start: %w", ErrBadInput)
	}
	if w.ID == "" {
		e.lastWin++
		w.ID = fmt.Sprintf("MW-%d-%d", e.clk.Now().Unix(), e.lastWin)
	}
	if old, ok := e.windows[w.ID]; ok {
		e.recheckWindow(old) // replaced: it may have been another store's
	}
	e.windows[w.ID] = w
	e.recheckWindow(w)
	e.ch.Windows = append(e.ch.Windows, w)
	return w, e.take(), nil
}

// DeleteWindow removes a maintenance window.
func (e *Engine) DeleteWindow(id string) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.windows[id]
	if !ok {
		return Changes{}, fmt.Errorf("window %s: %w", id, ErrNotFound)
	}
	delete(e.windows, id)
	e.recheckWindow(w)
	e.ch.DeleteWindows = append(e.ch.DeleteWindows, id)
	return e.take(), nil
}

// ---- views ----

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
	out := make([]AgentRecord, 0, len(e.agents))
	for _, a := range e.agents {
		out = append(out, e.agentRecord(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID().String() < out[j].ID().String() })
	return out
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
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		return a.Tenant+"/"+a.Store+"/"+a.ID < b.Tenant+"/"+b.Store+"/"+b.ID
	})
	return out
}

// Stores returns every store, sorted.
func (e *Engine) Stores() []StoreRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]StoreRecord, 0, len(e.stores))
	for _, s := range e.stores {
		out = append(out, e.storeRecord(s))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Tenant+"/"+out[i].Store < out[j].Tenant+"/"+out[j].Store })
	return out
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
	out := make([]Incident, 0, len(e.live))
	for _, inc := range e.live {
		out = append(out, *inc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// ---- restart ----

// Restore loads the state a store kept, before any input.
func (e *Engine) Restore(s Snapshot) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.recheck = true
	e.lastID = s.LastID
	for _, r := range s.Stores {
		st := e.storeFor(r.Tenant, r.Store)
		st.rec = r
		st.loc = e.zones.load(r.Info.TimeZone)
	}
	for _, r := range s.Agents {
		e.agentFor(r.ID()).rec = r
	}
	for _, r := range s.Devices {
		d := e.deviceFor(wire.AgentID{Tenant: r.Tenant, Store: r.Store, Agent: r.Agent}, r.ID)
		r.Tenant, r.Store, r.Agent, r.ID = d.rec.Tenant, d.rec.Store, d.rec.Agent, d.rec.ID
		r.Kind, r.Driver, r.Location = e.names.of(r.Kind), e.names.of(r.Driver), e.names.of(r.Location)
		r.Criticality = wire.Criticality(e.names.of(string(r.Criticality)))
		r.Identity, r.Faults = e.names.identity(r.Identity), e.names.faults(r.Faults)
		r.State, r.Reported = e.names.state(r.State), e.names.state(r.Reported)
		d.rec = r
		for _, f := range r.Faults {
			k := Fingerprint(r.Tenant, r.Store, r.ID, f.Code)
			a := &alert{key: k, kind: KindFault, tenant: r.Tenant, store: r.Store, agent: r.Agent, device: r.ID, code: f.Code,
				fault: f, active: r.Reported != wire.StateUnknown, since: r.Since, seen: r.Since, counted: true, lastChange: r.Since,
				dev: d, st: e.storeFor(r.Tenant, r.Store)}
			e.alerts[k] = a
			d.setAlert(f.Code, a)
		}
	}
	for _, r := range s.Agents {
		if r.Boot != "" && !r.Online {
			k := agentFingerprint(r.ID())
			e.alerts[k] = &alert{key: k, kind: KindAgentOffline, tenant: r.Tenant, store: r.Store, agent: r.Agent,
				code: wire.FaultAgentOffline, fault: wire.NewFault(wire.FaultAgentOffline, ""), active: true,
				since: r.Since, seen: r.Since, counted: true, lastChange: r.Since, st: e.storeFor(r.Tenant, r.Store)}
		}
	}
	for _, ep := range s.Episodes {
		e.episodes[ep.Key] = append(e.episodes[ep.Key], ep.Start)
	}
	for k := range e.episodes {
		slices.SortFunc(e.episodes[k], func(a, b time.Time) int { return a.Compare(b) })
	}
	for i := range s.Incidents {
		inc := s.Incidents[i]
		if inc.Kind == KindChronic {
			base := strings.TrimSuffix(inc.Key, "/chronic")
			if inc.OpenedAt.After(e.chronicT[base]) {
				e.chronicT[base] = inc.OpenedAt
			}
			if inc.State.Live() {
				e.live[inc.ID] = &inc
				e.chronic[base] = &inc
			}
			continue
		}
		if !inc.State.Live() {
			continue
		}
		p := &inc
		e.live[p.ID] = p
		a := e.alerts[p.Key]
		if a == nil {
			// The fault is no longer present: resolve after the hold-up.
			a = &alert{key: p.Key, kind: p.Kind, tenant: p.Tenant, store: p.Store, agent: p.Agent, device: p.Device,
				code: p.Fault, since: p.FirstSeen, cleared: p.UpdatedAt, lastChange: p.UpdatedAt, counted: true,
				st: e.storeFor(p.Tenant, p.Store)}
			if !p.RecoveredAt.IsZero() {
				a.cleared = p.RecoveredAt
			}
			e.alerts[p.Key] = a
			if d := e.device(p.Tenant, p.Store, p.Device); d != nil && p.Kind == KindFault {
				d.setAlert(p.Fault, a)
				a.dev = d
			}
		}
		a.inc = p
		a.flapping = p.Flapping
		e.byAlert[p.ID] = a
		if p.Kind == KindFault {
			e.storeFor(p.Tenant, p.Store).live[p.ID] = p
		}
	}
	for _, w := range s.Windows {
		e.windows[w.ID] = w
	}
}
