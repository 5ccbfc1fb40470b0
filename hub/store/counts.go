package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// FaultQuery asks how often a fault happened: episodes (as the engine
// records them for chronic detection: lasting at least the chronic minimum)
// that began in [From, To).
type FaultQuery struct {
	Key    string // fingerprint tenant/store/device/fault: the device count
	Tenant string
	Model  string // the model count, across the tenant's stores; "" for none
	Fault  wire.FaultCode
	From   time.Time
	To     time.Time
}

// FaultCounts are the answer to a FaultQuery.
type FaultCounts struct {
	Device int // episodes of the fault on the device
	Model  int // episodes of the fault on every device of the model in the tenant
}

// bModelEpisodes indexes episodes by tenant, model and fault:
// tenant \0 model \0 fault \0 start(8 bytes) fingerprint.
var bModelEpisodes = []byte("episodes_by_model")

// episodeKey is fingerprint \0 start(8 bytes).
func episodeKey(ep incident.Episode) []byte {
	return append([]byte(ep.Key+"\x00"), u64(uint64(ep.Start.UnixNano()))...)
}

// splitEpisodeKey reads an episodeKey. The start is the last eight bytes:
// it may itself contain zero bytes.
func splitEpisodeKey(k []byte) (key string, start time.Time, ok bool) {
	i := len(k) - 9
	if i < 1 || k[i] != 0 {
		return "", time.Time{}, false
	}
	return string(k[:i]), time.Unix(0, int64(binary.BigEndian.Uint64(k[i+1:]))), true
}

func modelPrefix(tenant, model string, code wire.FaultCode) []byte {
	return []byte(tenant + "\x00" + model + "\x00" + string(code) + "\x00")
}

func indexEpisode(b *bolt.Bucket, ep incident.Episode) error {
	tenant, code, ok := SplitFingerprint(ep.Key)
	if !ok || ep.Model == "" || strings.ContainsRune(ep.Model, 0) {
		return nil
	}
	k := append(modelPrefix(tenant, ep.Model, code), u64(uint64(ep.Start.UnixNano()))...)
	return b.Put(append(k, ep.Key...), nil)
}

// ensureModelIndex creates the model index of a file written before it
// existed, from the recorded episodes and each device's current model.
func ensureModelIndex(tx *bolt.Tx) error {
	if tx.Bucket(bModelEpisodes) != nil {
		return nil
	}
	idx, err := tx.CreateBucket(bModelEpisodes)
	if err != nil {
		return err
	}
	devices := tx.Bucket(bDevices)
	return tx.Bucket(bEpisodes).ForEach(func(k, _ []byte) error {
		key, start, ok := splitEpisodeKey(k)
		if !ok || strings.Count(key, "/") != 3 {
			return nil
		}
		var d incident.DeviceRecord
		if v := devices.Get([]byte(key[:strings.LastIndexByte(key, '/')])); v == nil || json.Unmarshal(v, &d) != nil {
			return nil
		}
		return indexEpisode(idx, incident.Episode{Key: key, Start: start, Model: d.Identity.Model})
	})
}

// countRange counts keys prefix+start(8 bytes)... with From <= start < To.
func countRange(b *bolt.Bucket, prefix []byte, from, to time.Time) int {
	end := u64(uint64(to.UnixNano()))
	n := 0
	c := b.Cursor()
	for k, _ := c.Seek(append(bytes.Clone(prefix), u64(uint64(from.UnixNano()))...)); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(k) < len(prefix)+8 || bytes.Compare(k[len(prefix):len(prefix)+8], end) >= 0 {
			break
		}
		n++
	}
	return n
}

// FaultCounts implements Store.
func (s *Bolt) FaultCounts(q FaultQuery) (FaultCounts, error) {
	var out FaultCounts
	if q.From.Before(time.Unix(0, 0)) {
		q.From = time.Unix(0, 0)
	}
	if !q.To.After(q.From) {
		return out, nil
	}
	err := s.db.View(func(tx *bolt.Tx) error {
		if q.Key != "" {
			out.Device = countRange(tx.Bucket(bEpisodes), []byte(q.Key+"\x00"), q.From, q.To)
		}
		if q.Model != "" && q.Tenant != "" {
			if b := tx.Bucket(bModelEpisodes); b != nil {
				out.Model = countRange(b, modelPrefix(q.Tenant, q.Model, q.Fault), q.From, q.To)
			}
		}
		return nil
	})
	if err != nil {
		return out, fmt.Errorf("store: fault counts: %w", err)
	}
	return out, nil
}

// linkTicket applies a ticket link to the stored incident.
func linkTicket(b *bolt.Bucket, l incident.TicketLink) error {
	v := b.Get([]byte(l.Incident))
	if v == nil {
		return nil // the engine's caller checked; a vanished record is not worth a failed commit
	}
	var inc incident.Incident
	if err := json.Unmarshal(v, &inc); err != nil {
		return fmt.Errorf("incident %s: %w", l.Incident, err)
	}
	LinkTicket(&inc, l)
	return put(b, []byte(inc.ID), inc)
}
