package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
)

// On a cluster of replicas (docs/hub.md, "Running several replicas") an
// action on an incident or a maintenance window must run in the engine of
// the partition that holds its store. The Router says where that is: one
// of this replica's partitions (its pipeline) or another replica, to which
// the action is forwarded as the same API request with the caller's
// Authorization, so that the owner checks the caller's role itself.

// ErrNoOwner is an action on a store whose partition no replica holds at
// the moment (a takeover in progress), or whose holder cannot be reached:
// 503 with Retry-After.
var ErrNoOwner = errors.New("no replica holds this store's partition at the moment (a takeover in progress); try again shortly")

// RetryAfter is the Retry-After, in seconds, of an ErrNoOwner answer.
const RetryAfter = 5

// ForwardedHeader marks a request one replica forwarded to another (its
// value names the sender); such a request is never forwarded again.
const ForwardedHeader = "X-Storewatch-Forwarded"

// Router finds where actions on a store's incidents and windows run, on a
// cluster of replicas (the hub's partitionRouter). nil: the only hub, its
// own pipeline.
type Router interface {
	// Route returns this replica's pipeline of the partition of tenant/store
	// when it holds it, else the API URL of the replica that does; the
	// hub's own incidents (tenant and store empty) are partition 0's.
	// ErrNoOwner when no replica holds it.
	Route(ctx context.Context, tenant, store string) (Route, error)
	// Windows lists every partition's maintenance windows (the
	// database's): a replica's own view holds only its partitions'.
	Windows() ([]incident.Window, error)
	// Replica names this replica in ForwardedHeader.
	Replica() string
}

// Route is where an action runs: Pipe, or the replica at URL.
type Route struct {
	Pipe Writer
	URL  string
}

// Writer runs an action in the writer of an engine (*ingest.Pipeline).
type Writer interface {
	Do(ctx context.Context, fn func(*incident.Engine) (incident.Changes, error)) error
}

// caller is what a forwarded action carries of the request it came from.
type caller struct {
	auth      string // the Authorization header
	forwarded bool   // the request came from another replica
}

type callerKey struct{}

// WithAuthorization gives ctx the caller's Authorization header ("Bearer
// <token>"), which an action forwarded to another replica carries: the
// console's sessions use it, the API's handlers pass the request's own.
func WithAuthorization(ctx context.Context, auth string) context.Context {
	c := callerOf(ctx)
	c.auth = auth
	return context.WithValue(ctx, callerKey{}, c)
}

func withCaller(r *http.Request) *http.Request {
	c := caller{auth: r.Header.Get("Authorization"), forwarded: r.Header.Get(ForwardedHeader) != ""}
	return r.WithContext(context.WithValue(r.Context(), callerKey{}, c))
}

func callerOf(ctx context.Context) caller {
	c, _ := ctx.Value(callerKey{}).(caller)
	return c
}

// StatusError is another replica's refusal of a forwarded action, passed
// on with its status (401, 403 and the like).
type StatusError struct {
	Status int
	Msg    string
}

func (e *StatusError) Error() string { return e.Msg }

// target is where an action on tenant/store runs: a pipeline, or the URL
// of the replica to forward it to.
func (s *Server) target(ctx context.Context, tenant, store string) (Writer, string, error) {
	if s.route == nil {
		return s.pipe, "", nil
	}
	rt, err := s.route.Route(ctx, tenant, store)
	switch {
	case err != nil:
		return nil, "", err
	case rt.Pipe != nil:
		return rt.Pipe, "", nil
	case callerOf(ctx).forwarded:
		// The sender saw this replica as the holder; it no longer is (or
		// not yet): the caller tries again once the lease has settled.
		return nil, "", fmt.Errorf("%w (forwarded to a replica that no longer holds it)", ErrNoOwner)
	case rt.URL == "":
		return nil, "", ErrNoOwner
	}
	return nil, rt.URL, nil
}

// forward sends an action to the replica at base as the API request
// method path with body (JSON), and decodes a successful answer into out.
// The owner's refusals come back as the errors ActionStatus turns into the
// same status.
func (s *Server) forward(ctx context.Context, base, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimSuffix(base, "/")+path, rd)
	if err != nil {
		return fmt.Errorf("forwarding to %s: %w", base, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth := callerOf(ctx).auth; auth != "" {
		req.Header.Set("Authorization", auth)
	}
	req.Header.Set(ForwardedHeader, s.route.Replica())
	resp, err := s.client.Do(req)
	if err != nil {
		// The holder is away (killed, restarting): its lease ends soon
		// and another replica takes the partition.
		return fmt.Errorf("%w: the holder at %s does not answer: %v", ErrNoOwner, base, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return fmt.Errorf("%w: reading the answer of %s: %v", ErrNoOwner, base, err)
	}
	if resp.StatusCode/100 == 2 {
		if out == nil {
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("the answer of %s: %w", base, err)
		}
		return nil
	}
	var e Error
	if json.Unmarshal(b, &e) != nil || e.Error == "" {
		e.Error = fmt.Sprintf("%s answered %s", base, resp.Status)
	}
	switch resp.StatusCode {
	case http.StatusNotFound:
		return notFound(e.Error)
	case http.StatusConflict:
		return relayed{e.Error, ErrNoLongerOpen}
	case http.StatusBadRequest:
		return relayed{e.Error, incident.ErrBadInput}
	case http.StatusServiceUnavailable:
		return relayed{e.Error, ErrNoOwner}
	}
	return &StatusError{Status: resp.StatusCode, Msg: e.Error}
}

// relayed is the owner's message for one of the errors ActionStatus knows.
type relayed struct {
	msg string
	err error
}

func (r relayed) Error() string { return r.msg }
func (r relayed) Unwrap() error { return r.err }

// windowID names a window added on a cluster: the engines of the
// partitions number their windows apart from each other, so the name
// carries a random part.
func windowID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return fmt.Sprintf("MW-%d-%s", now.Unix(), hex.EncodeToString(b[:]))
}

// writeActionError answers an action's error, with Retry-After when no
// replica holds the store's partition.
func writeActionError(w http.ResponseWriter, err error) {
	if errors.Is(err, ErrNoOwner) {
		w.Header().Set("Retry-After", fmt.Sprint(RetryAfter))
	}
	writeError(w, ActionStatus(err), err.Error())
}
