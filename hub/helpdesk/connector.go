package helpdesk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
)

// Delivery is what the hub hands the outbox: an incident snapshot, what
// happened to it, and which occurrence of the incident it belongs to. One
// occurrence is one ticket: when the same fault comes back after its
// incident was closed, the hub starts a new occurrence and a new ticket.
type Delivery struct {
	Incident   tickets.Brief    `json:"incident"`
	Kind       tickets.Occasion `json:"kind"`
	Occurrence string           `json:"occurrence"`
}

// Check reports what makes a notification unusable.
func (n Delivery) Check() error {
	if !n.Kind.Valid() {
		return fmt.Errorf("notification %s: unknown kind %q", n.Incident.Key, n.Kind)
	}
	if n.Occurrence == "" {
		return fmt.Errorf("notification %s: no occurrence id", n.Incident.Key)
	}
	return n.Incident.Check()
}

// TicketKey names the ticket of one occurrence of an incident.
func (n Delivery) TicketKey() string { return n.Incident.Key + "#" + n.Occurrence }

// ExternalID is the marker a helpdesk ticket carries so the outbox finds it
// again (Redmine custom field, webhook payload, email Message-ID). It is a
// hash of the namespace, the incident key and the occurrence: deterministic,
// so a retry after a crash looks for the same marker; namespaced, so a test
// and a production hub writing into one helpdesk never adopt each other's
// tickets; and made of [a-z0-9-] only, because Redmine's filter syntax gives
// characters such as | ! ~ ^ a meaning of their own.
func ExternalID(namespace, ticketKey string) string {
	sum := sha256.Sum256([]byte(namespace + "\x00" + ticketKey))
	return "sw-" + hex.EncodeToString(sum[:12])
}

// Status is what a call does to the ticket's status besides adding text.
type Status string

// Statuses a call may ask for.
const (
	StatusKeep     Status = ""         // add the note only
	StatusResolved Status = "resolved" // the device recovered and the policy says close
	StatusClosed   Status = "closed"   // the incident was closed in the hub
)

// Call is one request to a helpdesk, built by the outbox from a
// notification.
type Call struct {
	// ID is unique per call and the same on every retry of it (the
	// webhook-id, an email's Message-ID).
	ID         string
	ExternalID string // the ticket's marker, the same for every call of one ticket
	Sequence   int    // 1 for the call that opened the ticket, then counting up
	Kind       tickets.Occasion
	Occurrence string
	Incident   tickets.Brief
	Route      Destination
	Text       tickets.Text
	Status     Status
}

// Ticket is a helpdesk's ticket as the outbox remembers it.
type Ticket struct {
	ID  string `json:"id"`            // the helpdesk's id (Redmine issue number)
	URL string `json:"url,omitempty"` // for people
}

// State is a ticket's state in the helpdesk, as far as a connector can see.
type State string

// Ticket states.
const (
	StateUnknown  State = ""         // the connector cannot look (webhook, email)
	StateOpen     State = "open"     // anything not resolved or closed
	StateResolved State = "resolved" // the configured "resolved" status
	StateClosed   State = "closed"   // a closed status
	StateRejected State = "rejected" // a status configured as rejection
	StateDeleted  State = "deleted"  // the ticket is gone (404)
)

// Connector talks to one helpdesk instance. The outbox calls it one call at
// a time per ticket, in order, and retries what fails; a connector need not
// retry or remember anything itself.
type Connector interface {
	// Open creates the ticket for c, or, when the helpdesk already has a
	// ticket carrying c.ExternalID (a retry after a crash), returns that one.
	Open(ctx context.Context, c Call) (Ticket, error)
	// Post adds c's text to the ticket as a note and applies c.Status.
	Post(ctx context.Context, t Ticket, c Call) error
	// State looks at the ticket in the helpdesk, so the outbox does not
	// comment on or reopen a ticket a person closed. Connectors that cannot
	// look return StateUnknown.
	State(ctx context.Context, t Ticket) (State, error)
}

// Feedback is how the outbox tells the hub what happened in a helpdesk. The
// calls are made from the delivery loop after the fact is stored; they
// should return quickly.
type Feedback interface {
	// Linked: a helpdesk ticket now exists for an incident occurrence.
	Linked(ctx context.Context, l Link)
	// ClosedByPerson: a person closed, rejected or deleted the ticket in the
	// helpdesk. The outbox posts nothing more to it for this occurrence.
	ClosedByPerson(ctx context.Context, l Link, s State)
}

// Link ties an incident occurrence to a helpdesk ticket.
type Link struct {
	IncidentKey string `json:"incident_key"`
	Occurrence  string `json:"occurrence"`
	Helpdesk    string `json:"helpdesk"`
	Ticket      Ticket `json:"ticket"`
}

// PermanentError marks a failure that retrying cannot fix (a rejected
// request, a wrong project id): the call goes to the dead-letter list at
// once.
type PermanentError struct{ Err error }

func (e *PermanentError) Error() string { return e.Err.Error() }
func (e *PermanentError) Unwrap() error { return e.Err }

// Permanent wraps err as a PermanentError.
func Permanent(err error) error { return &PermanentError{Err: err} }

// IsPermanent reports whether err (or anything it wraps) is permanent.
func IsPermanent(err error) bool {
	var p *PermanentError
	return errors.As(err, &p)
}

// RetryAfterError carries a server's Retry-After: the outbox waits at least
// that long before the next attempt.
type RetryAfterError struct {
	Err   error
	After time.Duration
}

func (e *RetryAfterError) Error() string { return e.Err.Error() }
func (e *RetryAfterError) Unwrap() error { return e.Err }

// MaxResponse bounds what a connector reads from a helpdesk's answer.
const MaxResponse = 4 << 20

// HTTPStatusError classifies an HTTP answer the way the reference's retry
// table does: timeouts, 429 and 5xx are worth retrying (honouring
// Retry-After); other 4xx are the request's fault and permanent.
func HTTPStatusError(what string, resp *http.Response, body []byte) error {
	msg := string(body)
	if len(msg) > 300 {
		msg = msg[:300] + "..."
	}
	err := fmt.Errorf("%s: HTTP %d: %s", what, resp.StatusCode, msg)
	switch {
	case resp.StatusCode == http.StatusRequestTimeout || resp.StatusCode == http.StatusTooEarly ||
		resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500:
		if s, perr := strconv.Atoi(resp.Header.Get("Retry-After")); perr == nil && s > 0 {
			return &RetryAfterError{Err: err, After: time.Duration(s) * time.Second}
		}
		return err
	default:
		return Permanent(err)
	}
}
