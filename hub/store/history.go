package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
)

// The reads in this file serve reports: they stream what they find to a
// callback in bounded chunks, each chunk in its own read transaction, so a
// year of event log is never held in memory and no read transaction stays
// open for the whole scan (a long one keeps bbolt from reusing freed pages).
// The callback runs outside any transaction and may call the store.

// Install is one stretch of a device's life as one vendor and model: it
// starts when the hub first learned of the device, or learned a different
// vendor or model for it (the device under that id was swapped for another
// model), and lasts until the device's next Install. The hub does not learn
// that a device was taken away (an inventory that no longer lists a device
// removes nothing), so the last stretch lasts until now.
type Install struct {
	Tenant string `json:"tenant"`
	Store  string `json:"store"`
	Agent  string `json:"agent,omitempty"`
	Device string `json:"device"`
	Kind   string `json:"kind,omitempty"`
	Vendor string `json:"vendor,omitempty"`
	Model  string `json:"model,omitempty"`
	// Serial is the unit's serial number, once known: a new serial on
	// the same device id (a replaced printer of the same model) starts a
	// new Install, the replacement recorded as an install, not a fault.
	Serial string `json:"serial,omitempty"`
	// From is when the stretch began; zero for a device the hub knew before
	// it kept this history (it counts as installed from the beginning).
	From time.Time `json:"from,omitzero"`
}

var bInstalls = []byte("installs")

// ScanChunk is how many records one read of a scan (ScanLog, ScanInstalls)
// holds: one read transaction in bbolt, one query in PostgreSQL.
const ScanChunk = 1024

// installPrefix is the key prefix of a device's installs; the NUL after the
// device id keeps "printer-1" from matching "printer-10" (ids cannot hold
// NUL).
func installPrefix(tenant, store, device string) []byte {
	return []byte(tenant + "/" + store + "/" + device + "\x00")
}

func installKey(in Install) []byte {
	var ns uint64
	if !in.From.IsZero() {
		ns = uint64(in.From.UnixNano())
	}
	return append(installPrefix(in.Tenant, in.Store, in.Device), u64(ns)...)
}

// lastInstall returns the device's latest install, if any.
func lastInstall(b *bolt.Bucket, tenant, store, device string) (Install, bool, error) {
	prefix := installPrefix(tenant, store, device)
	c := b.Cursor()
	k, v := c.Seek(append(bytes.Clone(prefix), 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff))
	if k == nil {
		k, v = c.Last()
	} else {
		k, v = c.Prev()
	}
	if k == nil || !bytes.HasPrefix(k, prefix) {
		return Install{}, false, nil
	}
	var in Install
	err := json.Unmarshal(v, &in)
	return in, err == nil, err
}

// recordInstalls appends the Installs the device records start
// (NewInstalls).
func recordInstalls(tx *bolt.Tx, devices []incident.DeviceRecord) error {
	if len(devices) == 0 {
		return nil
	}
	b := tx.Bucket(bInstalls)
	ins, err := NewInstalls(devices, func(tenant, store, device string) (Install, bool, error) {
		in, ok, err := lastInstall(b, tenant, store, device)
		if err != nil {
			return in, ok, fmt.Errorf("installs of %s/%s/%s: %w", tenant, store, device, err)
		}
		return in, ok, nil
	})
	if err != nil {
		return err
	}
	for _, in := range ins {
		if err := put(b, installKey(in), in); err != nil {
			return err
		}
	}
	return nil
}

// ensureInstalls creates the installs bucket, giving every device of a file
// from before the install history an Install from the beginning.
func ensureInstalls(tx *bolt.Tx) error {
	if tx.Bucket(bInstalls) != nil {
		return nil
	}
	b, err := tx.CreateBucket(bInstalls)
	if err != nil {
		return err
	}
	devices := tx.Bucket(bDevices)
	if devices == nil {
		return nil // a new file
	}
	return devices.ForEach(func(_, v []byte) error {
		var d incident.DeviceRecord
		if err := json.Unmarshal(v, &d); err != nil {
			return err
		}
		in := Install{Tenant: d.Tenant, Store: d.Store, Agent: d.Agent, Device: d.ID, Kind: d.Kind, Vendor: d.Identity.Vendor, Model: d.Identity.Model,
			Serial: d.Identity.Serial}
		return put(b, installKey(in), in)
	})
}

// scan streams the records of bucket from key start on, while more(key)
// holds, to fn: ScanChunk records per read transaction, fn called after the
// transaction has ended. want, if not nil, skips a record by its raw value
// before it is decoded. A scan resumes after the exact last key it saw, so
// records added meanwhile are neither repeated nor skipped before that key.
func scan[T any](db *bolt.DB, bucket, start []byte, more func(k []byte) bool, want func(v []byte) bool, fn func(T) error) error {
	var last []byte
	for {
		var chunk []T
		done := false
		err := db.View(func(tx *bolt.Tx) error {
			c := tx.Bucket(bucket).Cursor()
			var k, v []byte
			if last == nil {
				k, v = c.Seek(start)
			} else if k, v = c.Seek(last); bytes.Equal(k, last) {
				k, v = c.Next()
			}
			for n := 0; n < ScanChunk; n++ {
				if n > 0 {
					k, v = c.Next()
				}
				if k == nil || !more(k) {
					done = true
					return nil
				}
				last = bytes.Clone(k)
				if want != nil && !want(v) {
					continue
				}
				var x T
				if err := json.Unmarshal(v, &x); err != nil {
					return fmt.Errorf("%s %x: %w", bucket, k, err)
				}
				chunk = append(chunk, x)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store: %w", err)
		}
		for _, x := range chunk {
			if err := fn(x); err != nil {
				return err
			}
		}
		if done {
			return nil
		}
	}
}

// ScanLog implements Store.
func (s *Bolt) ScanLog(from, to time.Time, kinds []incident.LogKind, fn func(incident.LogEntry) error) error {
	end := u64(uint64(to.UnixNano()))
	var want func([]byte) bool
	if len(kinds) > 0 {
		want = func(v []byte) bool {
			k, ok := logKind(v)
			return !ok || slices.Contains(kinds, k)
		}
	}
	return scan(s.db, bLog, u64(uint64(from.UnixNano())), func(k []byte) bool { return len(k) >= 8 && bytes.Compare(k[:8], end) < 0 }, want, fn)
}

// kindField is how the kind of a log entry is written; LogEntry's JSON
// begins with its time and then its kind.
var kindField = []byte(`"kind":"`)

// logKind reads an entry's kind from its JSON without decoding the rest:
// most of a report's scan is entries of kinds it skips (state changes).
// It says false when it cannot tell, and the entry is then decoded.
func logKind(v []byte) (incident.LogKind, bool) {
	head := v[:min(len(v), 80)]
	i := bytes.Index(head, kindField)
	if i < 0 {
		return "", false
	}
	rest := head[i+len(kindField):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return "", false
	}
	return incident.LogKind(rest[:j]), true
}

// ScanInstalls implements Store.
func (s *Bolt) ScanInstalls(tenant, store string, fn func(Install) error) error {
	var prefix []byte
	if tenant != "" {
		prefix = []byte(tenant + "/")
		if store != "" {
			prefix = []byte(tenant + "/" + store + "/")
		}
	}
	return scan(s.db, bInstalls, prefix, func(k []byte) bool { return bytes.HasPrefix(k, prefix) }, nil, func(in Install) error {
		if store != "" && in.Store != store {
			return nil
		}
		return fn(in)
	})
}

// Stores implements Store.
func (s *Bolt) Stores() ([]incident.StoreRecord, error) {
	var out []incident.StoreRecord
	err := s.db.View(func(tx *bolt.Tx) error {
		return each(tx.Bucket(bStores), func(r incident.StoreRecord) { out = append(out, r) })
	})
	if err != nil {
		return nil, fmt.Errorf("store: stores: %w", err)
	}
	return out, nil
}
