package store

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
)

// Dump is a part of a store's content as storehub migrate --from-bolt
// copies it to another store: each Export call fills one kind of record,
// at most ExportChunk of them. Unlike a Changes, it keeps what the store
// assigned (notification sequence numbers, cursors, the install history,
// the audit trail) instead of deriving it again.
type Dump struct {
	Incidents     []incident.Incident
	Timeline      []incident.Entry // in the order they were appended
	Notifications []incident.Notification
	Cursors       map[string]uint64
	Log           []incident.LogEntry // oldest first
	Stores        []incident.StoreRecord
	Agents        []incident.AgentRecord
	Devices       []incident.DeviceRecord
	Windows       []incident.Window
	// Episodes come twice: once from the episode records (without model)
	// and once from the model index (with the model they were counted
	// under). A copy keeps the model where one is known.
	Episodes []incident.Episode
	Installs []Install
	Audit    []AuditEntry // oldest first
	// EnrolTokens and AgentCredentials are the enrolment records.
	EnrolTokens      []EnrolToken
	AgentCredentials []AgentCredential
	Profiles         []ProfileRecord
}

// ExportChunk bounds the records of one Dump.
const ExportChunk = 2000

// Export streams the file's whole content to fn, kind by kind, in one read
// transaction (the hub should be stopped: a copy is a snapshot of one
// moment). An error from fn stops the export and is returned.
func (s *Bolt) Export(fn func(Dump) error) error {
	return s.db.View(func(tx *bolt.Tx) error {
		parts := []struct {
			bucket []byte
			add    func(d *Dump, k, v []byte) error
		}{
			{bIncidents, decodeInto(func(d *Dump, x incident.Incident) { d.Incidents = append(d.Incidents, x) })},
			{bTimeline, decodeInto(func(d *Dump, x incident.Entry) { d.Timeline = append(d.Timeline, x) })},
			{bNotifications, decodeInto(func(d *Dump, x incident.Notification) { d.Notifications = append(d.Notifications, x) })},
			{bCursors, func(d *Dump, k, v []byte) error {
				if len(v) != 8 {
					return fmt.Errorf("cursor %q: %d bytes", k, len(v))
				}
				if d.Cursors == nil {
					d.Cursors = map[string]uint64{}
				}
				d.Cursors[string(k)] = binary.BigEndian.Uint64(v)
				return nil
			}},
			{bLog, decodeInto(func(d *Dump, x incident.LogEntry) { d.Log = append(d.Log, x) })},
			{bStores, decodeInto(func(d *Dump, x incident.StoreRecord) { d.Stores = append(d.Stores, x) })},
			{bAgents, decodeInto(func(d *Dump, x incident.AgentRecord) { d.Agents = append(d.Agents, x) })},
			{bDevices, decodeInto(func(d *Dump, x incident.DeviceRecord) { d.Devices = append(d.Devices, x) })},
			{bWindows, decodeInto(func(d *Dump, x incident.Window) { d.Windows = append(d.Windows, x) })},
			{bEpisodes, func(d *Dump, k, _ []byte) error {
				if key, start, ok := splitEpisodeKey(k); ok {
					d.Episodes = append(d.Episodes, incident.Episode{Key: key, Start: start})
				}
				return nil
			}},
			{bModelEpisodes, func(d *Dump, k, _ []byte) error {
				if ep, ok := splitModelKey(k); ok {
					d.Episodes = append(d.Episodes, ep)
				}
				return nil
			}},
			{bInstalls, decodeInto(func(d *Dump, x Install) { d.Installs = append(d.Installs, x) })},
			{bAudit, decodeInto(func(d *Dump, x AuditEntry) { d.Audit = append(d.Audit, x) })},
			{bEnrolTokens, decodeInto(func(d *Dump, x EnrolToken) { d.EnrolTokens = append(d.EnrolTokens, x) })},
			{bAgentCreds, decodeInto(func(d *Dump, x AgentCredential) { d.AgentCredentials = append(d.AgentCredentials, x) })},
			{bProfiles, decodeInto(func(d *Dump, x ProfileRecord) { d.Profiles = append(d.Profiles, x) })},
		}
		for _, p := range parts {
			b := tx.Bucket(p.bucket)
			if b == nil {
				continue // audit, enrolment: a file that never had a query or an enrolment
			}
			var d Dump
			n := 0
			err := b.ForEach(func(k, v []byte) error {
				if err := p.add(&d, k, v); err != nil {
					return fmt.Errorf("%s %x: %w", p.bucket, k, err)
				}
				if n++; n == ExportChunk {
					n = 0
					err := fn(d)
					d = Dump{}
					return err
				}
				return nil
			})
			if err != nil {
				return err
			}
			if n > 0 {
				if err := fn(d); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func decodeInto[T any](add func(*Dump, T)) func(d *Dump, k, v []byte) error {
	return func(d *Dump, _, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		add(d, x)
		return nil
	}
}

// splitModelKey reads a key of the model index: tenant \0 model \0 fault \0
// start(8 bytes) fingerprint.
func splitModelKey(k []byte) (incident.Episode, bool) {
	parts := strings.SplitN(string(k), "\x00", 4)
	if len(parts) != 4 || len(parts[3]) < 8 {
		return incident.Episode{}, false
	}
	start := time.Unix(0, int64(binary.BigEndian.Uint64([]byte(parts[3][:8]))))
	return incident.Episode{Key: parts[3][8:], Start: start, Model: parts[1]}, true
}
