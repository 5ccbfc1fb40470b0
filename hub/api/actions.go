package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"

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
	}
	return http.StatusInternalServerError
}

// do runs an incident action through the writer; an unknown incident is
// store.ErrNotFound, a known one that is not live ErrNoLongerOpen.
func (s *Server) do(ctx context.Context, id string, fn func(*incident.Engine) (incident.Changes, error)) error {
	err := s.pipe.Do(ctx, fn)
	if errors.Is(err, incident.ErrNotFound) {
		if _, e := s.st.Incident(id); e == nil {
			return fmt.Errorf("incident %s is %w", id, ErrNoLongerOpen)
		}
		return notFound("no incident " + id)
	}
	return err
}

// Acknowledge marks a live incident as being worked on by who.
func (s *Server) Acknowledge(ctx context.Context, id, who string) error {
	return s.do(ctx, id, func(e *incident.Engine) (incident.Changes, error) { return e.Acknowledge(id, who) })
}

// Comment adds who's text to an incident's timeline; a resolved or closed
// incident takes comments too.
func (s *Server) Comment(ctx context.Context, id, who, text string) error {
	if _, live := s.eng.Live(id); !live {
		err := s.st.AppendTimeline(incident.Entry{Incident: id, At: s.clk.Now(), Kind: incident.EntryComment, Author: who, Text: text})
		if errors.Is(err, store.ErrNotFound) {
			return notFound("no incident " + id)
		}
		return err
	}
	return s.do(ctx, id, func(e *incident.Engine) (incident.Changes, error) { return e.Comment(id, who, text) })
}

// Close closes a live incident as who, with an optional text.
func (s *Server) Close(ctx context.Context, id, who, text string) error {
	return s.do(ctx, id, func(e *incident.Engine) (incident.Changes, error) { return e.Close(id, who, text) })
}

// AddWindow opens a maintenance window checked by ParseWindow or
// WindowRequest.Window.
func (s *Server) AddWindow(ctx context.Context, w incident.Window) (incident.Window, error) {
	var added incident.Window
	err := s.pipe.Do(ctx, func(e *incident.Engine) (incident.Changes, error) {
		var c incident.Changes
		var err error
		added, c, err = e.AddWindow(w)
		return c, err
	})
	return added, err
}

// DeleteWindow ends a maintenance window.
func (s *Server) DeleteWindow(ctx context.Context, id string) error {
	err := s.pipe.Do(ctx, func(e *incident.Engine) (incident.Changes, error) { return e.DeleteWindow(id) })
	if errors.Is(err, incident.ErrNotFound) {
		return notFound("no maintenance window " + id)
	}
	return err
}
