package incident

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// What a ticket says: the device and store facts first-line support asks
// for, the title, and the priority (impact x urgency) with its SLA due
// times, recomputed when more of the store fails or recovers.

func (e *Engine) fillTicket(inc *Incident, a *alert) {
	t := &inc.Facts
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
	store := inc.Facts.StoreName
	if store == "" {
		store = inc.Tenant + "/" + inc.Store
	}
	where := inc.Device
	if inc.Facts.Location != "" {
		where += " (" + inc.Facts.Location + ")"
	}
	what := []string{}
	if inc.Facts.Vendor != "" || inc.Facts.Model != "" {
		what = append(what, strings.TrimSpace(inc.Facts.Vendor+" "+inc.Facts.Model))
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
	case KindHubOutage:
		impact, urgency = 1, 1
		why = "the hub hears none of its stores"
	default:
		kind := inc.Facts.DeviceKind
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
		urgency = Urgency(inc.Facts.Severity, open)
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
