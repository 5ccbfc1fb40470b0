package incident

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// What external helpdesks tell the engine. A helpdesk ticket belongs to one
// incident (one occurrence of a fault): the engine shows it on the incident
// and, when a person closes it there, treats that like a person's close in
// the hub.

// LinkTicket records the external helpdesk's ticket on an incident, with a
// timeline entry. A live incident carries it from now on; for a finished
// one (resolved or closed before the helpdesk answered) the change set asks
// the store to add it to the stored record, so the caller must know that
// the incident exists. Linking the same ticket again changes nothing.
func (e *Engine) LinkTicket(id string, t HelpdeskTicket) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id == "" || t.Helpdesk == "" || t.ID == "" {
		return Changes{}, fmt.Errorf("link ticket to %q: helpdesk and ticket id are required: %w", id, ErrBadInput)
	}
	now := e.clk.Now()
	if t.Linked.IsZero() {
		t.Linked = now
	}
	text := "ticket " + t.String() + " opened in the helpdesk"
	if t.URL != "" {
		text += ": " + t.URL
	}
	if inc := e.live[id]; inc != nil {
		if inc.Helpdesk != nil && inc.Helpdesk.Helpdesk == t.Helpdesk && inc.Helpdesk.ID == t.ID {
			return Changes{}, nil
		}
		inc.Helpdesk = &t
		e.entryBy(inc, now, EntryHelpdesk, t.Helpdesk, text)
		e.touch(inc, now)
		return e.take(), nil
	}
	e.ch.Timeline = append(e.ch.Timeline, Entry{Incident: id, At: now, Kind: EntryHelpdesk, Author: t.Helpdesk, Text: text})
	e.ch.Tickets = append(e.ch.Tickets, TicketLink{Incident: id, Ticket: t})
	return e.take(), nil
}

// ClosedInHelpdesk records that a person closed, rejected, resolved or
// deleted the incident's ticket in the helpdesk (state says which). A live
// incident is closed as if by a person in the hub: if its fault is still
// present it opens nothing more until it clears and comes back, and the
// closed notification tells connectors (the helpdesk's own outbox posts
// nothing to a ticket a person closed). A finished incident only gets the
// timeline entry and the ticket's state. As for LinkTicket, the caller
// makes sure a finished incident exists.
func (e *Engine) ClosedInHelpdesk(id string, t HelpdeskTicket, state string) (Changes, error) {
	if id == "" || t.Helpdesk == "" || state == "" {
		return Changes{}, fmt.Errorf("close %q from the helpdesk: helpdesk and state are required: %w", id, ErrBadInput)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := e.clk.Now()
	t.ClosedByPerson, t.ClosedAt = state, now
	inc := e.live[id]
	if inc != nil && inc.Helpdesk != nil && inc.Helpdesk.ID == t.ID {
		t.Linked = inc.Helpdesk.Linked
		if t.URL == "" {
			t.URL = inc.Helpdesk.URL
		}
	}
	if t.Linked.IsZero() {
		t.Linked = now
	}
	reason := fmt.Sprintf("ticket %s %s by a person in the helpdesk", t, state)
	if inc != nil {
		inc.Helpdesk = &t
		e.closeLive(inc, ResolutionHelpdesk, t.Helpdesk, reason, "closed: "+reason+"; storewatch opens nothing more for this occurrence")
		return e.take(), nil
	}
	e.ch.Timeline = append(e.ch.Timeline, Entry{Incident: id, At: now, Kind: EntryHelpdesk, Author: t.Helpdesk, Text: reason})
	e.ch.Tickets = append(e.ch.Tickets, TicketLink{Incident: id, Ticket: t})
	return e.take(), nil
}

// Store returns what the hub knows about one store.
func (e *Engine) Store(tenant, store string) (StoreRecord, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	s, ok := e.stores[tenant+"/"+store]
	if !ok {
		return StoreRecord{}, false
	}
	return e.storeRecord(s), true
}

// StoreDevices returns the devices of one store, by id, with stale state for
// an offline agent's devices. Tenant "" means the stores of that name in
// every tenant, by tenant and id (a remote query may name only the store).
func (e *Engine) StoreDevices(tenant, store string) []DeviceRecord {
	e.mu.Lock()
	defer e.mu.Unlock()
	var stores []*storeState
	if tenant != "" {
		if s, ok := e.stores[tenant+"/"+store]; ok {
			stores = append(stores, s)
		}
	} else {
		for _, s := range e.stores {
			if s.rec.Store == store {
				stores = append(stores, s)
			}
		}
	}
	var out []DeviceRecord
	for _, s := range stores {
		for _, d := range s.devices {
			out = append(out, e.deviceRecord(d))
		}
	}
	slices.SortFunc(out, func(a, b DeviceRecord) int {
		return cmp.Or(strings.Compare(a.Tenant, b.Tenant), strings.Compare(a.ID, b.ID))
	})
	return out
}
