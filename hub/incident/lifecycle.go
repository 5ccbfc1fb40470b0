package incident

import (
	"fmt"
	"slices"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// An incident's life: opening, recovering (resolved or commented),
// forgetting it once finished, chronic problems, and the timeline entries,
// notifications and event-log lines every change leaves.

func (e *Engine) newID() string {
	e.lastID = e.numbers.next(e.lastID)
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
	why := fmt.Sprintf("%s since %s (hold-down %s)", a.code, e.local(a, a.since), e.dur(r.HoldDown))
	say, args := SayOpened, Args{"fault": string(a.code), "since": e.local(a, a.since), "hold_down": e.dur(r.HoldDown), "priority": fmt.Sprint(inc.Priority)}
	if a.flapping {
		why = fmt.Sprintf("%s is flapping: %d changes within %s", a.code, len(a.transitions), e.dur(e.pol.FlapWindow))
		say, args = SayOpenedFlapping, Args{"fault": string(a.code), "changes": fmt.Sprint(len(a.transitions)), "window": e.dur(e.pol.FlapWindow), "priority": fmt.Sprint(inc.Priority)}
	}
	e.said(inc, now, EntryOpened, Author, fmt.Sprintf("opened: %s; P%d (impact %d x urgency %d)", why, inc.Priority, inc.Impact, inc.Urgency), say, args)
	e.touch(inc, now)
	e.notify(inc, NotifyOpened, now, why)
	e.logIncident(inc, now, "opened")
}

func (e *Engine) recover(a *alert, now time.Time) {
	inc := a.inc
	inc.Active, inc.RecoveredAt = false, a.cleared
	if e.rule(a).OnRecovery == RecoveryComment {
		e.said(inc, now, EntryComment, Author, fmt.Sprintf("%s cleared at %s and stayed clear for %s; left open for a person to confirm and close",
			a.code, e.local(a, a.cleared), e.dur(e.rule(a).HoldUp)), SayRecoveredConfirm,
			Args{"fault": string(a.code), "cleared": e.local(a, a.cleared), "hold_up": e.dur(e.rule(a).HoldUp)})
		e.touch(inc, now)
		e.notify(inc, NotifyUpdated, now, "recovered; awaiting confirmation")
		e.logIncident(inc, now, "recovered")
		return
	}
	inc.State, inc.Resolution, inc.ClosedAt = StateResolved, ResolutionRecovered, now
	e.said(inc, now, EntryState, Author, fmt.Sprintf("resolved: recovered by itself (%s cleared at %s, stayed clear for %s)",
		a.code, e.local(a, a.cleared), e.dur(e.rule(a).HoldUp)), SayRecovered,
		Args{"fault": string(a.code), "cleared": e.local(a, a.cleared), "hold_up": e.dur(e.rule(a).HoldUp)})
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
	if e.outage.inc == inc {
		e.outage.inc, e.outage.closed = nil, inc.State == StateClosed
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
	why := fmt.Sprintf("%s on %s %d times within %s", a.code, a.device, n, e.dur(e.pol.ChronicWindow))
	e.said(inc, now, EntryOpened, Author, "chronic problem: "+why+"; this incident stays open until a person closes it", SayChronic,
		Args{"fault": string(a.code), "device": a.device, "count": fmt.Sprint(n), "window": e.dur(e.pol.ChronicWindow)})
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

// touch records that an incident changed.
func (e *Engine) touch(inc *Incident, now time.Time) {
	inc.Version++
	inc.UpdatedAt = now
	cp := *inc
	cp.Facts.Faults = slices.Clone(inc.Facts.Faults)
	e.ch.Incidents = append(e.ch.Incidents, cp)
}

func (e *Engine) entry(inc *Incident, at time.Time, kind EntryKind, text string) {
	e.entryBy(inc, at, kind, Author, text)
}

func (e *Engine) entryBy(inc *Incident, at time.Time, kind EntryKind, author, text string) {
	e.ch.Timeline = append(e.ch.Timeline, Entry{Incident: inc.ID, At: at, Kind: kind, Author: author, Text: text})
}

// said appends an entry that also names its sentence (say) and the words
// that fill it, so the console can say it in its language.
func (e *Engine) said(inc *Incident, at time.Time, kind EntryKind, author, text, say string, args Args) {
	e.ch.Timeline = append(e.ch.Timeline, Entry{Incident: inc.ID, At: at, Kind: kind, Author: author, Text: text, Say: say, Args: args})
}

func (e *Engine) notify(inc *Incident, kind NotificationKind, at time.Time, text string) {
	if inc.Kind == KindHubOutage {
		return // no store's ticket: the helpdesks are the stores' (docs/hub.md)
	}
	cp := *inc
	cp.Facts.Faults = slices.Clone(inc.Facts.Faults)
	cp.Version++ // the snapshot describes the incident after this change
	e.ch.Notifications = append(e.ch.Notifications, Notification{Kind: kind, At: at, Incident: cp, Text: text})
	e.said(inc, at, EntryNotification, Author, fmt.Sprintf("%s notification queued for helpdesk connectors", kind), SayNotified,
		Args{"notification": string(kind)})
}

func (e *Engine) logIncident(inc *Incident, at time.Time, state string) {
	if inc.Kind == KindHubOutage {
		e.logOutage(at, state, inc.Title)
		return
	}
	e.ch.Log = append(e.ch.Log, LogEntry{At: at, Kind: LogIncident, Tenant: inc.Tenant, Store: inc.Store, Agent: inc.Agent,
		Device: inc.Device, DevKind: inc.Facts.DeviceKind, Vendor: inc.Facts.Vendor, Model: inc.Facts.Model,
		Firmware: inc.Facts.Firmware, State: state, Faults: []wire.FaultCode{inc.Fault}, Since: inc.FirstSeen,
		Flapping: inc.Flapping, Incident: inc.ID, Detail: string(inc.Kind)})
}
