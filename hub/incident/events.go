package incident

import (
	"fmt"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// What comes in: inventories, presence (births and wills), heartbeats and
// device events. Each call applies one message to the state and marks the
// alerts it touched for the next tick.

// Inventory records a store's description and its devices.
func (e *Engine) Inventory(inv *wire.Inventory, at time.Time) Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	id := inv.AgentID
	ag := e.agentFor(id)
	if !inv.Time.IsZero() && inv.Boot != "" && inv.Boot == ag.rec.Boot && inv.Time.Equal(ag.rec.Inventory) {
		// The retained inventory again: a partition's session subscribing
		// anew after a takeover gets every store's, and applying each
		// rewrote its 30 devices (50,000 rows per partition at 10,000
		// stores) before the backlog behind them.
		return e.take()
	}
	ag.rec.LastSeen, ag.rec.Inventory = at, inv.Time
	if inv.AgentVersion != "" {
		ag.rec.Version = inv.AgentVersion
	}
	ag.rec.Found = inv.Found
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
			ag.rec.Started, ag.rec.GraceUntil = startup(st, at)
			if st.Version != "" {
				ag.rec.Version = st.Version
			}
			if st.OS != "" {
				ag.rec.OS = st.OS
			}
			e.comeOnline(ag, st.Boot, st.Time, st.Conn, at, "")
		}
		// Where the agent's undelivered numbers begin, from a birth heard
		// when it was made: a retained one of long ago would make history
		// of a new hub's into gaps.
		if out != Ignored && at.Sub(st.Time) < e.pol.LateAfter {
			ag.rec.Seq.Born(st.Next)
		}
	case wire.PresenceOffline:
		switch {
		case !sameBoot, st.Conn < ag.rec.Conn:
			ag.rec.IgnoredWills++
			out = Ignored
		case !ag.rec.Online:
			out = Ignored
		default:
			e.setOnline(ag, false)
			ag.rec.Since, ag.rec.Conn = at, st.Conn
			e.emitAgentDevices(ag)
			k := agentFingerprint(st.AgentID)
			a := e.alerts[k]
			if a == nil {
				a = &alert{key: k, kind: KindAgentOffline, tenant: st.Tenant, store: st.Store, agent: st.Agent,
					code: wire.FaultAgentOffline, fault: wire.NewFault(wire.FaultAgentOffline, ""), st: e.storeFor(st.Tenant, st.Store)}
				e.alerts[k] = a
			}
			e.activate(a, at, at, 0)
			e.logPresence(ag, at, "offline", "")
			e.noteWill(ag, a.st, at)
		}
	}
	e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
	return e.take(), out
}

// startup returns when the boot of a birth began and when its agent's
// start-up grace ended. A start on an agent clock running ahead of the
// hub's counts from the birth's receipt, so that it cannot hold faults back.
func startup(st *wire.Status, at time.Time) (started, graceUntil time.Time) {
	if st.Started.IsZero() {
		return time.Time{}, time.Time{}
	}
	started = st.Started
	if started.After(at) {
		started = at
	}
	return started, started.Add(time.Duration(st.Grace * float64(time.Second)))
}

// startupEnd returns the end of the start-up grace of the alert's agent if
// the alert's episode began within it: its hold-down counts from there.
// The agent reports such a fault only once the grace is over, with its
// since from within the grace; counting from since would spend the
// hold-down inside the grace, and a device slow to come up after a store
// PC restart would open a ticket.
func (e *Engine) startupEnd(a *alert) (time.Time, bool) {
	if a.kind != KindFault || a.dev == nil || a.dev.agent == nil {
		return time.Time{}, false
	}
	r := a.dev.agent.rec
	if r.Started.IsZero() || a.since.Before(r.Started) || !a.since.Before(r.GraceUntil) {
		return time.Time{}, false
	}
	return r.GraceUntil, true
}

// comeOnline records the agent online with a boot (since its time) and
// connection, as its birth says or, when the birth was lost, as a message
// of the boot shows (how says so in the event log).
func (e *Engine) comeOnline(ag *agentState, boot string, bootTime time.Time, conn uint64, at time.Time, how string) {
	e.setOnline(ag, true)
	ag.rec.Boot, ag.rec.BootTime, ag.rec.Since, ag.rec.Conn = boot, bootTime, at, conn
	e.emitAgentDevices(ag)
	if a := e.alerts[agentFingerprint(ag.rec.ID())]; a != nil && a.active {
		e.deactivate(a, at)
	}
	e.logPresence(ag, at, "online", how)
	e.noteBirth(ag, at)
}

// logPresence logs the agent's presence; how, when given, says how the
// hub knows it.
func (e *Engine) logPresence(ag *agentState, at time.Time, state, how string) {
	detail := "boot " + ag.rec.Boot
	if how != "" {
		detail += " (" + how + ")"
	}
	e.ch.Log = append(e.ch.Log, LogEntry{At: at, Kind: LogPresence, Tenant: ag.rec.Tenant, Store: ag.rec.Store, Agent: ag.rec.Agent, State: state, Detail: detail})
}

// numbered takes a numbered message of an agent (an event or metrics): it
// returns the agent, and false for a duplicate (agent, seq), which changes
// nothing but the agent's counters.
//
// A fresh message of a boot newer than the one the hub knows, from an
// agent it holds offline or has never heard, stands for a birth that was
// lost: the agent is connected, since what it sends now arrives. (A
// 3-node nats-server cluster lost the births of 4 agents in 1,000 while
// their heartbeats kept coming, and the hub listed them offline for good,
// deaf to their wills.) Within a boot the hub waits for the next birth: the
// connection a message came over is not in it, and a will of that boot may
// be newer than the message.
func (e *Engine) numbered(h *wire.Header, at time.Time) (*agentState, bool) {
	ag := e.agentFor(h.AgentID)
	if !ag.rec.Seq.Observe(h.Seq) {
		e.ch.Agents = append(e.ch.Agents, e.agentRecord(ag))
		return ag, false
	}
	ag.rec.LastSeen = at
	if !ag.rec.Online && h.Boot != "" && h.Boot != ag.rec.Boot && at.Sub(h.Time) < e.pol.LateAfter &&
		(ag.rec.BootTime.IsZero() || h.Time.After(ag.rec.BootTime)) {
		e.recheckStore(e.storeFor(h.Tenant, h.Store))
		e.comeOnline(ag, h.Boot, h.Time, 0, at, "its birth not heard; a message of this boot came")
	}
	return ag, true
}

// Metrics records an agent's heartbeat (samples are for reports, not for
// incidents).
func (e *Engine) Metrics(m *wire.Metrics, at time.Time) (Changes, Outcome) {
	e.mu.Lock()
	defer e.mu.Unlock()
	ag, fresh := e.numbered(&m.Header, at)
	if !fresh {
		return e.take(), Duplicate
	}
	if m.Heartbeat != nil {
		hb := *m.Heartbeat
		switch prev := ag.rec.Heartbeat; {
		case hb.OutboxDepth == 0:
			ag.rec.BacklogRising = 0
		case prev != nil && hb.OutboxDepth > prev.OutboxDepth:
			ag.rec.BacklogRising++
		case prev != nil && hb.OutboxDepth < prev.OutboxDepth:
			ag.rec.BacklogRising = 0
		}
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
	ag, fresh := e.numbered(&ev.Header, at)
	if !fresh {
		return e.take(), Duplicate
	}
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
		e.emitDevice(d)
		return e.take(), Applied // no information: alerts stay as they are (and frozen, see Tick)
	}
	transit := at.Sub(ev.Time)
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
			e.activate(a, since, at, transit)
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
	e.emitDevice(d) // after the alerts: the record carries their changes
	return e.take(), Applied
}

func (e *Engine) activate(a *alert, since, seen time.Time, transit time.Duration) {
	e.transition(a, a.raise(since, seen, transit, e.pol.flap()), since)
	a.counted = false
	if a.inc != nil && a.inc.State.Live() {
		a.inc.Occurrences++
		a.inc.Active = true
		if !a.inc.RecoveredAt.IsZero() {
			a.inc.RecoveredAt = time.Time{}
			e.said(a.inc, seen, EntryOccurrence, Author, fmt.Sprintf("%s is back since %s", a.code, e.local(a, since)), SayBack,
				Args{"fault": string(a.code), "since": e.local(a, since)})
			if !a.flapping {
				e.notify(a.inc, NotifyUpdated, seen, "the fault came back")
			}
		}
		e.touch(a.inc, seen)
	}
}

func (e *Engine) deactivate(a *alert, at time.Time) {
	e.transition(a, a.clear(at, e.pol.flap()), at)
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
	if g, ok := e.startupEnd(a); ok && end.Before(g.Add(r.HoldDown)) {
		return "startup"
	}
	if e.outage.holds(a) {
		return "outage"
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

// transition follows a change of the alert's fault at t: the alert is
// evaluated at the next tick, and a live incident is marked if the change
// made the fault flapping.
func (e *Engine) transition(a *alert, startsFlapping bool, t time.Time) {
	e.markDirty(a)
	if startsFlapping && a.inc != nil && a.inc.State.Live() {
		e.markFlapping(a.inc, a, t, true)
	}
}

func (e *Engine) markFlapping(inc *Incident, a *alert, at time.Time, on bool) {
	inc.Flapping = on
	if on {
		inc.Flaps = len(a.transitions)
		e.said(inc, at, EntryFlapping, Author, fmt.Sprintf("%s is flapping: %d changes within %s; the incident stays open until it has been quiet for %s",
			a.code, len(a.transitions), e.dur(e.pol.FlapWindow), e.dur(e.pol.FlapQuiet)), SayFlapping,
			Args{"fault": string(a.code), "changes": fmt.Sprint(len(a.transitions)), "window": e.dur(e.pol.FlapWindow), "quiet": e.dur(e.pol.FlapQuiet)})
		e.notify(inc, NotifyFlapping, at, "flapping")
	} else {
		e.said(inc, at, EntryFlapping, Author, fmt.Sprintf("%s stopped flapping (quiet for %s)", a.code, e.dur(e.pol.FlapQuiet)), SayFlappingStopped,
			Args{"fault": string(a.code), "quiet": e.dur(e.pol.FlapQuiet)})
		e.notify(inc, NotifyUpdated, at, "no longer flapping")
	}
	e.touch(inc, at)
}
