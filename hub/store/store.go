package store

import (
	"errors"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
)

// ErrNotFound is returned for an unknown incident.
var ErrNotFound = errors.New("not found")

// Filter selects incidents. Zero fields match everything.
type Filter struct {
	Tenant   string
	Store    string
	Device   string
	State    incident.State
	Live     bool // only open and acknowledged incidents
	Priority int
	Model    string
	Fault    string
	Kind     incident.Kind
	Since    time.Time // opened at or after
	Until    time.Time // opened before
	Limit    int       // 0: DefaultLimit
}

// DefaultLimit bounds a listing when the filter does not.
const DefaultLimit = 500

// Match reports whether inc passes the filter.
func (f Filter) Match(inc *incident.Incident) bool {
	switch {
	case f.Tenant != "" && inc.Tenant != f.Tenant,
		f.Store != "" && inc.Store != f.Store,
		f.Device != "" && inc.Device != f.Device,
		f.State != "" && inc.State != f.State,
		f.Live && !inc.State.Live(),
		f.Priority != 0 && inc.Priority != f.Priority,
		f.Model != "" && inc.Facts.Model != f.Model,
		f.Fault != "" && string(inc.Fault) != f.Fault,
		f.Kind != "" && inc.Kind != f.Kind,
		!f.Since.IsZero() && inc.OpenedAt.Before(f.Since),
		!f.Until.IsZero() && !inc.OpenedAt.Before(f.Until):
		return false
	}
	return true
}

// Store keeps tickets and the engine's state. With Backend's audit trail
// and device history it is what the hub's wiring (hub.Start) opens and
// hands out; each part takes only the few methods it uses, through a small
// interface of its own (ingest.Store, notify.Stream, api.Store,
// console.Store, reports.Source, query.Auditor, ...), so a store on another
// engine implements these methods and slots in (Bolt and postgres.Store).
type Store interface {
	// Commit writes one engine change set atomically and gives the
	// notifications their sequence numbers.
	Commit(c incident.Changes) error
	// Snapshot returns what the engine restarts from: records, live
	// incidents, chronic incidents and episodes within the window.
	Snapshot(window time.Duration, now time.Time) (incident.Snapshot, error)

	Incident(id string) (incident.Incident, error)
	// Incidents lists matching incidents, newest first.
	Incidents(f Filter) ([]incident.Incident, error)
	Timeline(id string) ([]incident.Entry, error)
	// AppendTimeline adds an entry to any incident (a comment on a resolved
	// one, for instance).
	AppendTimeline(e incident.Entry) error

	// Notifications returns up to limit notifications after seq.
	Notifications(after uint64, limit int) ([]incident.Notification, error)
	// Notified returns a channel closed at the next commit that adds
	// notifications, so a connector can wait instead of polling.
	Notified() <-chan struct{}
	// Cursor and SetCursor keep each connector's position in the stream.
	Cursor(consumer string) (uint64, error)
	SetCursor(consumer string, seq uint64) error

	// FaultCounts says how often a fault happened on a device and on its
	// model, for "last 30 days" on tickets.
	FaultCounts(q FaultQuery) (FaultCounts, error)

	// Log returns event-log entries with from <= At < to, oldest first.
	Log(from, to time.Time, limit int) ([]incident.LogEntry, error)
	// PruneLog deletes event-log entries older than before and says how
	// many.
	PruneLog(before time.Time) (int, error)

	// ScanLog streams event-log entries with from <= At < to (and of the
	// given kinds; none: all) to fn, oldest first, without holding them all;
	// fn runs outside any transaction. An error from fn stops the scan and
	// is returned.
	ScanLog(from, to time.Time, kinds []incident.LogKind, fn func(incident.LogEntry) error) error
	// ScanInstalls streams the install history (see Install) of a tenant's
	// devices, or one store's ("" matches every tenant or store), ordered by
	// device and then by time.
	ScanInstalls(tenant, store string, fn func(Install) error) error
	// Stores returns every store record (name, time zone, hours).
	Stores() ([]incident.StoreRecord, error)

	Close() error
}

// Backend is a whole hub store: the Store, the remote-query audit trail and
// each device's history for the console. Bolt (the embedded default) and
// postgres.Store are the two; storetest.Run holds both to the same tests.
type Backend interface {
	Store
	// AppendAudit adds an entry to the append-only audit trail and returns
	// it with its sequence number.
	AppendAudit(e AuditEntry) (AuditEntry, error)
	// Audit lists matching entries, newest first, back to f.Since.
	Audit(f AuditFilter) ([]AuditEntry, error)
	// DeviceLog returns the event-log entries about one device from since
	// on, newest first.
	DeviceLog(tenant, store, device string, since time.Time, limit int) ([]incident.LogEntry, error)

	// PutEnrolToken stores a new or changed enrolment token.
	PutEnrolToken(t EnrolToken) error
	// EnrolTokens lists a tenant's tokens ("" every tenant's), oldest first.
	EnrolTokens(tenant string) ([]EnrolToken, error)
	// Enrol runs issue on the token with this hash (ErrUnknownToken: none)
	// and the current credential of agentKey (tenant/store/agent), and
	// stores the changed token with the credential it returns, atomically:
	// two enrolments racing for a token's last use cannot both have it.
	Enrol(tokenHash, agentKey string, issue Issue) (AgentCredential, error)
	// PutAgentCredential stores a credential (a revoked one).
	PutAgentCredential(c AgentCredential) error
	// AgentCredentials lists every enrolled agent's credential, ordered
	// by tenant/store/agent.
	AgentCredentials() ([]AgentCredential, error)

	// PutProfile stores a device profile, new or changed.
	PutProfile(p ProfileRecord) error
	// DeleteProfile deletes one; ErrNotFound when there is none.
	DeleteProfile(tenant, name string) error
	// Profiles lists a tenant's ("" every tenant's), by tenant and name.
	Profiles(tenant string) ([]ProfileRecord, error)
}

// ErrConflict is returned by a commit that would break the store's
// uniqueness rules: a second live incident for one fingerprint, or an
// incident id that already names another fingerprint. It means another
// engine (another replica) owns the fingerprint; nothing of the commit was
// stored.
var ErrConflict = errors.New("conflict")
