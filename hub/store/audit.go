package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
)

// The audit trail and the device history live in this file rather than in
// the Store interface: they are read by the remote query service and the
// console, not by the engine, and another store needs them only if it
// serves those.

var bAudit = []byte("audit")

// Audit events.
const (
	AuditRequest     = "request"     // a signed request was published to the agent
	AuditAnswer      = "answer"      // the agent answered it
	AuditRefused     = "refused"     // the hub did not send it (offline, busy, rate limited, unknown device)
	AuditTimeout     = "timeout"     // no answer in time
	AuditUnsolicited = "unsolicited" // an answer no query of this hub waits for (replayed, forged, or too late)
)

// AuditEntry is one line of the remote-query audit trail: who asked what of
// which device, when, and what came of it.
type AuditEntry struct {
	Seq    uint64            `json:"seq"`
	At     time.Time         `json:"at"`
	Event  string            `json:"event"`
	ID     string            `json:"id,omitempty"` // the request id
	Who    string            `json:"who,omitempty"`
	Tenant string            `json:"tenant"`
	Store  string            `json:"store"`
	Agent  string            `json:"agent,omitempty"`
	Device string            `json:"device"`
	Op     string            `json:"op,omitempty"`
	Args   map[string]string `json:"args,omitempty"`
	OK     bool              `json:"ok"`
	Code   string            `json:"code,omitempty"`
	Error  string            `json:"error,omitempty"`
	TookMS float64           `json:"took_ms,omitempty"` // round trip for answers
}

// AuditFilter selects audit entries; zero fields match everything.
type AuditFilter struct {
	Tenant, Store, Device, Who, ID string
	Since                          time.Time
	Limit                          int // 0: DefaultLimit
}

func (f AuditFilter) match(e *AuditEntry) bool {
	return (f.Tenant == "" || e.Tenant == f.Tenant) && (f.Store == "" || e.Store == f.Store) &&
		(f.Device == "" || e.Device == f.Device) && (f.Who == "" || e.Who == f.Who) && (f.ID == "" || e.ID == f.ID)
}

// AppendAudit adds an entry to the append-only audit trail and returns it
// with its sequence number. There is no way to change or delete one.
func (s *Bolt) AppendAudit(e AuditEntry) (AuditEntry, error) {
	err := s.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bAudit)
		if err != nil {
			return err
		}
		e.Seq, _ = b.NextSequence()
		return put(b, u64(e.Seq), e)
	})
	if err != nil {
		return e, fmt.Errorf("store: audit: %w", err)
	}
	return e, nil
}

// Audit lists matching entries, newest first, back to f.Since.
func (s *Bolt) Audit(f AuditFilter) ([]AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []AuditEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket(bAudit)
		if b == nil {
			return nil
		}
		c := b.Cursor()
		for k, v := c.Last(); k != nil && len(out) < limit; k, v = c.Prev() {
			var e AuditEntry
			if err := json.Unmarshal(v, &e); err != nil {
				return fmt.Errorf("audit %x: %w", k, err)
			}
			if !f.Since.IsZero() && e.At.Before(f.Since) {
				break
			}
			if f.match(&e) {
				out = append(out, e)
			}
		}
		return nil
	})
	return out, err
}

// DeviceLog returns the event-log entries about one device (its state
// changes, episodes and incidents) from since on, newest first. It walks the
// log backwards from the end, so the recent history of a device costs what
// the log holds since then, however long the log is.
func (s *Bolt) DeviceLog(tenant, store, device string, since time.Time, limit int) ([]incident.LogEntry, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []incident.LogEntry
	stop := u64(uint64(since.UnixNano()))
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bLog).Cursor()
		for k, v := c.Last(); k != nil && bytes.Compare(k[:8], stop) >= 0 && len(out) < limit; k, v = c.Prev() {
			var l incident.LogEntry
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			if l.Tenant == tenant && l.Store == store && l.Device == device {
				out = append(out, l)
			}
		}
		return nil
	})
	return out, err
}
