package incident

import (
	"slices"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Restart: the state a store kept, loaded before any input.

// restoreChanges gives the device's alerts the changes of their faults
// within the flap window, making an alert for a fault that has gone (it may
// come back, and its changes count).
func (e *Engine) restoreChanges(d *deviceState, changes map[wire.FaultCode][]time.Time) {
	cut := e.clk.Now().Add(-e.pol.FlapWindow)
	for code, ts := range changes {
		ts = slices.DeleteFunc(slices.Clone(ts), func(t time.Time) bool { return t.Before(cut) })
		if len(ts) == 0 {
			continue
		}
		code = wire.FaultCode(e.names.of(string(code)))
		a := d.alert(code)
		if a == nil {
			k := Fingerprint(d.rec.Tenant, d.rec.Store, d.rec.ID, code)
			a = &alert{key: k, kind: KindFault, tenant: d.rec.Tenant, store: d.rec.Store, agent: d.rec.Agent, device: d.rec.ID, code: code,
				fault: wire.NewFault(code, ""), counted: true, dev: d, st: e.storeFor(d.rec.Tenant, d.rec.Store)}
			a.cleared = ts[len(ts)-1]
			e.alerts[k] = a
			d.setAlert(code, a)
			e.markDirty(a) // forgotten once idle, like any alert
		}
		a.transitions = ts
		if last := ts[len(ts)-1]; last.After(a.lastChange) {
			a.lastChange = last
		}
	}
}

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
		if r.Online {
			e.online++
		}
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
				fault: f, faultState: faultState{active: r.Reported != wire.StateUnknown, since: r.Since, seen: r.Since, lastChange: r.Since}, counted: true,
				dev: d, st: e.storeFor(r.Tenant, r.Store)}
			e.alerts[k] = a
			d.setAlert(f.Code, a)
		}
		e.restoreChanges(d, r.Changes)
	}
	for _, r := range s.Agents {
		if r.Boot != "" && !r.Online {
			k := agentFingerprint(r.ID())
			e.alerts[k] = &alert{key: k, kind: KindAgentOffline, tenant: r.Tenant, store: r.Store, agent: r.Agent,
				code: wire.FaultAgentOffline, fault: wire.NewFault(wire.FaultAgentOffline, ""),
				faultState: faultState{active: true, since: r.Since, seen: r.Since, lastChange: r.Since}, counted: true, st: e.storeFor(r.Tenant, r.Store)}
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
		if inc.Kind == KindHubOutage {
			if inc.State.Live() {
				e.restoreOutage(&inc)
			}
			continue
		}
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
				code: p.Fault, faultState: faultState{since: p.FirstSeen, cleared: p.UpdatedAt, lastChange: p.UpdatedAt}, counted: true,
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
