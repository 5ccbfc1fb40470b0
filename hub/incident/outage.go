package incident

import (
	"fmt"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// FaultHubOutage is the fault of the hub-level incident: the hub cannot
// hear its stores. It never travels on the wire, so it is not in the
// agents' vocabulary.
const FaultHubOutage wire.FaultCode = "hub_outage"

// hubOutageKey is the fingerprint of the hub-level incident.
const hubOutageKey = "storehub/" + string(FaultHubOutage)

// outage is the hub's own blindness: it cannot hear its stores, because its
// connection to the broker is down or because most agents went silent at
// once. That is one fault, not one per store: while it lasts the hub keeps
// one hub-level incident and decides nothing about stores' agents; once it
// hears again it listens for the settle time and then decides each store
// on what it heard.
type outage struct {
	brokerDown bool // the hub's connection to its broker is down
	silenced   bool // most agents went silent at once

	since     time.Time // when the hub went blind; zero: no outage
	heard     time.Time // when it heard again; zero while blind
	settleEnd time.Time // when decisions about stores resume
	// brokerLost: the broker connection was down during this outage, so the
	// devices' last states are as old as it: device faults wait as well.
	brokerLost bool
	cause      string
	inc        *Incident
	closed     bool // a person closed the incident: it does not reopen in this outage

	// Mass silence: the wills of the last OutageWindow (of stores that are
	// trading), oldest first, and the agents among them still offline, with
	// their latest will (during a silence: every agent it silenced that is
	// still offline).
	wills  []agentWill
	recent map[string]time.Time
}

type agentWill struct {
	at    time.Time
	agent string // wire.AgentID.String()
}

// active reports whether an outage is being handled (blind or settling).
func (o *outage) active() bool { return !o.since.IsZero() }

// blind reports whether the hub cannot hear its stores now.
func (o *outage) blind() bool { return o.brokerDown || o.silenced }

// holds reports whether the outage holds the alert's decisions: every
// agent's offline alert, and device faults when the broker was lost.
func (o *outage) holds(a *alert) bool {
	return o.active() && (a.kind == KindAgentOffline || a.kind == KindFault && o.brokerLost)
}

// BrokerLost records that the hub's connection to its broker went down at
// at: the hub can hear none of its stores until it is back.
func (e *Engine) BrokerLost(at time.Time) Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.outage.brokerDown {
		e.outage.brokerDown = true
		e.outageChanged(at, "its connection to the broker is down")
	}
	return e.take()
}

// BrokerBack records that the hub's connection to its broker is up again
// at at.
func (e *Engine) BrokerBack(at time.Time) Changes {
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.outage.brokerDown {
		e.outage.brokerDown = false
		e.outageChanged(at, "")
	}
	return e.take()
}

// outageChanged follows a change of the hub's blindness: a new outage
// begins, one that was settling turns blind again, or the hub hears again
// and starts to settle. Every alert is evaluated again at the next tick:
// what the outage holds has changed.
func (e *Engine) outageChanged(at time.Time, cause string) {
	o := &e.outage
	switch {
	case o.blind() && !o.active():
		o.since, o.cause = at, cause
		if o.silenced && len(o.wills) > 0 {
			o.since = o.wills[0].at // the silence began with the first of its wills
		}
		e.logOutage(at, "blind", cause)
	case o.blind() && !o.heard.IsZero():
		o.heard, o.settleEnd = time.Time{}, time.Time{}
		e.logOutage(at, "blind", cause)
		if o.inc != nil {
			e.entry(o.inc, at, EntryOccurrence, "blind again before the settle time ended: "+cause)
			e.touch(o.inc, at)
		}
	case !o.blind() && o.active() && o.heard.IsZero():
		o.heard, o.settleEnd = at, at.Add(e.pol.OutageSettle)
		e.logOutage(at, "heard", fmt.Sprintf("deciding about stores again at %s", o.settleEnd.UTC().Format(time.RFC3339)))
		if o.inc != nil {
			e.entry(o.inc, at, EntryComment, fmt.Sprintf("hearing the stores again; per-store offline decisions resume after %s", e.dur(e.pol.OutageSettle)))
			e.touch(o.inc, at)
		}
	}
	if o.brokerDown {
		o.brokerLost = true
	}
	e.recheck = true
}

// noteWill counts an agent's will towards a mass silence: at least
// OutageShare of the agents, and at least OutageMin, gone offline within
// OutageWindow. Wills of stores that are closed do not count, so that a
// chain's closing time is not an outage.
func (e *Engine) noteWill(ag *agentState, s *storeState, at time.Time) {
	o := &e.outage
	key := ag.rec.ID().String()
	if o.recent == nil {
		o.recent = map[string]time.Time{}
	}
	if o.silenced {
		o.recent[key] = at
		return
	}
	if len(s.rec.Info.Hours) > 0 && !s.rec.Info.Hours.IsOpen(at, s.loc) {
		return
	}
	o.wills = append(o.wills, agentWill{at, key})
	o.recent[key] = at
	cut := 0
	for ; cut < len(o.wills) && o.wills[cut].at.Before(at.Add(-e.pol.OutageWindow)); cut++ {
		if w := o.wills[cut]; o.recent[w.agent].Equal(w.at) {
			delete(o.recent, w.agent) // its latest will left the window
		}
	}
	o.wills = o.wills[cut:]
	if !e.silence(len(o.recent)) {
		return
	}
	o.silenced = true
	e.outageChanged(at, fmt.Sprintf("%d of %d agents went offline within %s", len(o.recent), e.online+len(o.recent), e.dur(e.pol.OutageWindow)))
}

// noteBirth ends a mass silence once too few of its agents are still
// offline.
func (e *Engine) noteBirth(ag *agentState, at time.Time) {
	o := &e.outage
	delete(o.recent, ag.rec.ID().String())
	if o.silenced && !e.silence(len(o.recent)) {
		o.silenced, o.recent, o.wills = false, nil, nil
		e.outageChanged(at, "")
	}
}

// silence reports whether n agents offline at once are a mass silence.
func (e *Engine) silence(n int) bool {
	return n > 0 && n >= e.pol.OutageMin && float64(n) >= e.pol.OutageShare*float64(e.online+n)
}

// setOnline records an agent's presence, keeping count of those online.
func (e *Engine) setOnline(ag *agentState, on bool) {
	switch {
	case on && !ag.rec.Online:
		e.online++
	case !on && ag.rec.Online:
		e.online--
	}
	ag.rec.Online = on
}

// outageNext returns when the outage next needs the clock (zero: never).
func (e *Engine) outageNext() time.Time {
	o := &e.outage
	switch {
	case !o.active():
		return time.Time{}
	case o.blind() && o.inc == nil && !o.closed:
		return o.since.Add(e.outageHoldDown())
	case !o.blind():
		return o.settleEnd
	}
	return time.Time{}
}

// outageHoldDown is how long the hub must be blind before its incident
// opens: as long as one store's offline incident would wait.
func (e *Engine) outageHoldDown() time.Duration {
	return e.pol.For("", wire.FaultAgentOffline).HoldDown
}

// tickOutage opens the hub-level incident once the hub has been blind for
// the hold-down, and ends the outage once the settle time is over.
func (e *Engine) tickOutage(now time.Time) {
	o := &e.outage
	switch {
	case !o.active():
	case o.blind() && o.inc == nil && !o.closed && !e.outageSilent && !now.Before(o.since.Add(e.outageHoldDown())):
		e.openOutage(now)
	case !o.blind() && !now.Before(o.settleEnd):
		e.endOutage(now)
	}
}

func (e *Engine) openOutage(now time.Time) {
	o := &e.outage
	inc := &Incident{ID: e.newID(), Key: hubOutageKey, DedupKey: DedupKey(hubOutageKey), Kind: KindHubOutage, Fault: FaultHubOutage,
		Title: "storehub cannot hear its stores: " + o.cause, State: StateOpen, Active: true, FirstSeen: o.since, OpenedAt: now, Occurrences: 1,
		Facts: Facts{Severity: wire.SeverityCritical, Remedy: wire.RemedyRemote,
			Runbook: "the hub cannot hear its stores: check its broker connection (storehub_broker_connected) and the network between the stores and the broker"}}
	e.prioritise(inc, now, false)
	o.inc = inc
	e.live[inc.ID] = inc
	e.entry(inc, now, EntryOpened, fmt.Sprintf("opened: %s since %s (hold-down %s); P%d. Until the hub hears its broker again, and for %s after that, no store's agent_offline incident opens: this one stands for them",
		o.cause, e.pol.Display.At(o.since).UTC().Format(time.RFC3339), e.dur(e.outageHoldDown()), inc.Priority, e.dur(e.pol.OutageSettle)))
	e.touch(inc, now)
	e.logOutage(now, "opened", o.cause)
}

// endOutage closes the outage after the settle time: stores are decided
// on what the hub heard (an agent whose last word is its will is offline,
// and its incident opens after the usual hold-down), and the hub-level
// incident resolves.
func (e *Engine) endOutage(now time.Time) {
	o := &e.outage
	offline := 0
	for _, ag := range e.agents {
		if ag.stale() {
			offline++
		}
	}
	summary := fmt.Sprintf("heard the stores again at %s; after %s of listening %d agents are online and %d offline (their stores' incidents open as usual)",
		o.heard.UTC().Format(time.RFC3339), e.dur(e.pol.OutageSettle), e.online, offline)
	e.logOutage(now, "settled", summary)
	if inc := o.inc; inc != nil && inc.State.Live() {
		inc.Active, inc.RecoveredAt = false, o.heard
		inc.State, inc.Resolution, inc.ClosedAt = StateResolved, ResolutionRecovered, now
		e.entry(inc, now, EntryState, "resolved: "+summary)
		e.touch(inc, now)
		e.forget(inc)
	}
	e.outage = outage{}
	e.recheck = true
}

// logOutage records a step of the outage in the event log (as its own
// kind: the hub's outage is no store's incident and stays out of their
// reports).
func (e *Engine) logOutage(at time.Time, state, detail string) {
	le := LogEntry{At: at, Kind: LogOutage, State: state, Detail: detail, Since: e.outage.since}
	if e.outage.inc != nil {
		le.Incident = e.outage.inc.ID
	}
	e.ch.Log = append(e.ch.Log, le)
}

// restoreOutage takes up a hub-level incident that was live when the hub
// stopped: the hub has just started to hear its stores again, so it
// settles before it decides about them, and the incident resolves then.
func (e *Engine) restoreOutage(inc *Incident) {
	e.live[inc.ID] = inc
	now := e.clk.Now()
	e.outage = outage{since: inc.FirstSeen, heard: now, settleEnd: now.Add(e.pol.OutageSettle), brokerLost: true,
		cause: "the hub restarted during an outage", inc: inc}
}
