package incident

import (
	"fmt"
	"strings"
)

// What people do to incidents in the hub: acknowledge, comment, close.

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
	e.said(inc, now, EntryState, who, "acknowledged", SayAcknowledged, nil)
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
