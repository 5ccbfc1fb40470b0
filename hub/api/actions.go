package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
)

// The actions people take on incidents and maintenance windows, as the API
// runs them; the web console calls the same methods.

// ErrNoLongerOpen is returned for an action on a resolved or closed
// incident that needs a live one.
var ErrNoLongerOpen = errors.New("no longer open")

// notFound is an unknown incident or window, said plainly; it matches
// store.ErrNotFound.
type notFound string

func (e notFound) Error() string        { return string(e) }
func (e notFound) Is(target error) bool { return target == store.ErrNotFound }

// ActionStatus is the HTTP status of an action's error.
func ActionStatus(err error) int {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrNoLongerOpen):
		return http.StatusConflict
	case errors.Is(err, incident.ErrBadInput):
		return http.StatusBadRequest
	case errors.Is(err, ErrNoOwner):
		return http.StatusServiceUnavailable
	}
	var se *StatusError
	if errors.As(err, &se) {
		return se.Status
	}
	return http.StatusInternalServerError
}

// do runs an incident action through the writer of the incident's
// partition, or forwards it (POST .../incidents/{id}/action with body) to
// the replica that holds it; an unknown incident is store.ErrNotFound, a
// known one that is not live ErrNoLongerOpen.
func (s *Server) do(ctx context.Context, id, action string, body any, fn func(*incident.Engine) (incident.Changes, error)) error {
	pipe, to, err := s.incidentTarget(ctx, id)
	if err != nil {
		return err
	}
	if to != "" {
		return s.forward(ctx, to, http.MethodPost, Prefix+"/incidents/"+url.PathEscape(id)+"/"+action, body, nil)
	}
	err = pipe.Do(ctx, fn)
	if errors.Is(err, incident.ErrNotFound) {
		if _, e := s.st.Incident(id); e == nil {
			return fmt.Errorf("incident %s is %w", id, ErrNoLongerOpen)
		}
		return notFound("no incident " + id)
	}
	return err
}

// incidentTarget is where an action on incident id runs (Server.target):
// on a cluster, the partition of its store, read from the database.
func (s *Server) incidentTarget(ctx context.Context, id string) (Writer, string, error) {
	if s.route == nil {
		return s.pipe, "", nil
	}
	inc, err := s.st.Incident(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, "", notFound("no incident " + id)
	}
	if err != nil {
		return nil, "", err
	}
	if inc.Kind == incident.KindHubOutage {
		return s.target(ctx, "", "")
	}
	return s.target(ctx, inc.Tenant, inc.Store)
}

// live says whether incident id is live: the engine's view on the only
// hub, the database's on a cluster (this replica's engine holds none).
func (s *Server) live(id string) bool {
	if s.route == nil {
		_, live := s.eng.Live(id)
		return live
	}
	inc, err := s.st.Incident(id)
	return err == nil && inc.State.Live()
}

// Acknowledge marks a live incident as being worked on by who.
func (s *Server) Acknowledge(ctx context.Context, id, who string) error {
	return s.do(ctx, id, "acknowledge", nil, func(e *incident.Engine) (incident.Changes, error) { return e.Acknowledge(id, who) })
}

// Comment adds who's text to an incident's timeline; a resolved or closed
// incident takes comments too (straight into the store, which every
// replica shares).
func (s *Server) Comment(ctx context.Context, id, who, text string) error {
	if !s.live(id) {
		err := s.st.AppendTimeline(incident.Entry{Incident: id, At: s.clk.Now(), Kind: incident.EntryComment, Author: who, Text: text})
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no incident " + id)
		}
		return err
	}
	return s.do(ctx, id, "comments", TextRequest{Text: text}, func(e *incident.Engine) (incident.Changes, error) { return e.Comment(id, who, text) })
}

// Close closes a live incident as who, with an optional text.
func (s *Server) Close(ctx context.Context, id, who, text string) error {
	return s.do(ctx, id, "close", TextRequest{Text: text}, func(e *incident.Engine) (incident.Changes, error) { return e.Close(id, who, text) })
}

// AddWindow opens a maintenance window checked by ParseWindow or
// WindowRequest.Window, in the engine of its store's partition.
func (s *Server) AddWindow(ctx context.Context, w incident.Window) (incident.Window, error) {
	pipe, to, err := s.target(ctx, w.Tenant, w.Store)
	if err != nil {
		return w, err
	}
	var added incident.Window
	if to != "" {
		req := WindowRequest{Tenant: w.Tenant, Store: w.Store, Device: w.Device, Reason: w.Reason,
			Start: w.Start.Format(time.RFC3339Nano), End: w.End.Format(time.RFC3339Nano)}
		err := s.forward(ctx, to, http.MethodPost, Prefix+"/maintenance", req, &added)
		return added, err
	}
	if s.route != nil && w.ID == "" {
		w.ID = windowID(s.clk.Now())
	}
	err = pipe.Do(ctx, func(e *incident.Engine) (incident.Changes, error) {
		var c incident.Changes
		var err error
		added, c, err = e.AddWindow(w)
		return c, err
	})
	return added, err
}

// DeleteWindow ends a maintenance window.
func (s *Server) DeleteWindow(ctx context.Context, id string) error {
	var pipe Writer = s.pipe
	if s.route != nil {
		ws, err := s.route.Windows()
		if err != nil {
			return err
		}
		i := slices.IndexFunc(ws, func(w incident.Window) bool { return w.ID == id })
		if i < 0 {
			return notFound("no maintenance window " + id)
		}
		var to string
		if pipe, to, err = s.target(ctx, ws[i].Tenant, ws[i].Store); err != nil {
			return err
		}
		if to != "" {
			return s.forward(ctx, to, http.MethodDelete, Prefix+"/maintenance/"+url.PathEscape(id), nil, nil)
		}
	}
	err := pipe.Do(ctx, func(e *incident.Engine) (incident.Changes, error) { return e.DeleteWindow(id) })
	if errors.Is(err, incident.ErrNotFound) {
		return notFound("no maintenance window " + id)
	}
	return err
}

// Windows lists the maintenance windows: the engine's, or on a cluster
// every partition's from the database.
func (s *Server) Windows() ([]incident.Window, error) {
	if s.route != nil {
		return s.route.Windows()
	}
	return s.eng.Windows(), nil
}
