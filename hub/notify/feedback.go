package notify

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
)

// Writer runs an engine action and commits its changes (ingest.Pipeline).
type Writer interface {
	Do(ctx context.Context, fn func(*incident.Engine) (incident.Changes, error)) error
}

// Feedback is the helpdesk outbox's way back into the hub
// (helpdesk.Feedback): it records tickets on incidents and closes an
// incident whose ticket a person closed in the helpdesk. Writer applies it
// in the engine (the only hub's pipeline); on a cluster of replicas Apply
// does instead (the incident's partition may run on another replica).
type Feedback struct {
	Writer Writer
	Apply  Applier
	Store  IncidentReader
	Log    *slog.Logger
}

// Applier takes helpdesk feedback to the engine that owns the incident.
type Applier interface {
	LinkTicket(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket) error
	ClosedInHelpdesk(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket, state string) error
}

// Apply runs feedback in the engine behind w: what an Applier does where
// the engine is at hand.
func Apply(ctx context.Context, w Writer, inc string, t incident.HelpdeskTicket, closed string) error {
	return w.Do(ctx, func(e *incident.Engine) (incident.Changes, error) {
		if closed != "" {
			return e.ClosedInHelpdesk(inc, t, closed)
		}
		return e.LinkTicket(inc, t)
	})
}

func (f *Feedback) link(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket) error {
	if f.Apply != nil {
		return f.Apply.LinkTicket(ctx, inc, t)
	}
	return Apply(ctx, f.Writer, inc.ID, t, "")
}

func (f *Feedback) closed(ctx context.Context, inc incident.Incident, t incident.HelpdeskTicket, state string) error {
	if f.Apply != nil {
		return f.Apply.ClosedInHelpdesk(ctx, inc, t, state)
	}
	return Apply(ctx, f.Writer, inc.ID, t, state)
}

// IncidentReader reads one incident (the hub's store).
type IncidentReader interface {
	Incident(id string) (incident.Incident, error)
}

// Linked shows the helpdesk's ticket on the incident and in its timeline.
func (f *Feedback) Linked(ctx context.Context, l helpdesk.Link) {
	inc, ok := f.incident(ctx, l)
	if !ok {
		return
	}
	id := inc.ID
	t := incident.HelpdeskTicket{Helpdesk: l.Helpdesk, ID: l.Ticket.ID, URL: l.Ticket.URL}
	if err := f.link(ctx, inc, t); err != nil {
		f.log().Error("helpdesk feedback: recording the ticket", "incident", id, "ticket", t.ID, "err", err)
	}
}

// ClosedByPerson closes the incident (if it is still live) and records who
// closed the ticket how; its fault opens nothing more until it clears and
// comes back.
func (f *Feedback) ClosedByPerson(ctx context.Context, l helpdesk.Link, s helpdesk.State) {
	inc, ok := f.incident(ctx, l)
	if !ok {
		return
	}
	id := inc.ID
	t := incident.HelpdeskTicket{Helpdesk: l.Helpdesk, ID: l.Ticket.ID, URL: l.Ticket.URL}
	if err := f.closed(ctx, inc, t, string(s)); err != nil {
		f.log().Error("helpdesk feedback: recording a person's close", "incident", id, "ticket", t.ID, "err", err)
		return
	}
	f.log().Info("helpdesk ticket closed by a person; the incident is closed", "incident", id, "helpdesk", l.Helpdesk, "ticket", t.ID, "state", s)
}

// incident finds the incident of a ticket: the occurrence is the incident's
// id (Bridge.Notification), and its key must match.
//
// A store that cannot be read for a moment (PostgreSQL restarting) is
// waited for, up to FeedbackPatience, even past ctx: the helpdesk's answer
// came once and does not come again.
func (f *Feedback) incident(ctx context.Context, l helpdesk.Link) (incident.Incident, bool) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), FeedbackPatience)
	defer cancel()
	wait := 100 * time.Millisecond
	for {
		inc, err := f.Store.Incident(l.Occurrence)
		switch {
		case errors.Is(err, store.ErrNotFound):
			f.log().Error("helpdesk feedback: no such incident", "incident", l.Occurrence, "key", l.IncidentKey, "err", err)
			return inc, false
		case err == nil && inc.Key != l.IncidentKey:
			f.log().Error("helpdesk feedback: the ticket belongs to another incident", "incident", inc.ID, "key", inc.Key, "ticket_key", l.IncidentKey)
			return inc, false
		case err == nil:
			return inc, true
		}
		f.log().Warn("helpdesk feedback: the store cannot be read; trying again", "incident", l.Occurrence, "in", wait, "err", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.log().Error("helpdesk feedback: the store could not be read; the answer is dropped", "incident", l.Occurrence, "err", err)
			return inc, false
		case <-t.C:
		}
		wait = min(2*wait, 5*time.Second)
	}
}

// FeedbackPatience bounds the wait for a store that cannot be read.
const FeedbackPatience = 2 * time.Minute

func (f *Feedback) log() *slog.Logger {
	if f.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return f.Log
}
