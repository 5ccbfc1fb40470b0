package store

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/hub/incident"
)

var (
	bIncidents     = []byte("incidents")
	bTimeline      = []byte("timeline")
	bNotifications = []byte("notifications")
	bCursors       = []byte("cursors")
	bLog           = []byte("log")
	bStores        = []byte("stores")
	bAgents        = []byte("agents")
	bDevices       = []byte("devices")
	bEpisodes      = []byte("episodes")
	bWindows       = []byte("windows")
	bMeta          = []byte("meta")
	allBuckets     = [][]byte{bIncidents, bTimeline, bNotifications, bCursors, bLog, bStores, bAgents, bDevices, bEpisodes, bWindows, bMeta}
	keyLastID      = []byte("last_incident_id")
	keySchema      = []byte("schema")
)

const schemaVersion = "1"

// Bolt is the bbolt implementation of Store.
type Bolt struct {
	db *bolt.DB

	mu       sync.Mutex
	notified chan struct{}

	chunks [][]byte // Commit's record buffers (recordWriter), under bbolt's writer lock
}

// OpenBolt opens (creating if needed) the ticket store at path.
func OpenBolt(path string) (*Bolt, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 2 * time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType, InitialMmapSize: initialMmap})
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := ensureInstalls(tx); err != nil {
			return err
		}
		for _, b := range allBuckets {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		if err := ensureModelIndex(tx); err != nil {
			return err
		}
		m := tx.Bucket(bMeta)
		if v := m.Get(keySchema); v != nil && string(v) != schemaVersion {
			return fmt.Errorf("schema version %s, this build reads %s", v, schemaVersion)
		}
		return m.Put(keySchema, []byte(schemaVersion))
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	return &Bolt{db: db, notified: make(chan struct{})}, nil
}

// Path is the file's path.
func (s *Bolt) Path() string { return s.db.Path() }

// Close closes the file.
func (s *Bolt) Close() error { return s.db.Close() }

func u64(n uint64) []byte {
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, n)
	return b
}

func put(b *bolt.Bucket, key []byte, v any) error {
	_, data, err := encodeRecord(nil, v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// recordWriter encodes the records of one transaction into chunks of
// recordChunk bytes (see encodeRecord), instead of a new slice per record.
// bbolt keeps each value until the transaction has committed, so a chunk
// is reused (free) only by a later transaction.
type recordWriter struct {
	buf  []byte   // the chunk being filled
	full [][]byte // chunks filled before it
	free [][]byte // empty chunks to fill
}

const recordChunk = 64 << 10

func (w *recordWriter) put(b *bolt.Bucket, key []byte, v any) error {
	if cap(w.buf)-len(w.buf) < recordChunk/16 {
		if w.buf != nil {
			w.full = append(w.full, w.buf)
		}
		if n := len(w.free); n > 0 {
			w.buf, w.free = w.free[n-1], w.free[:n-1]
		} else {
			w.buf = make([]byte, 0, recordChunk)
		}
	}
	var data []byte
	var err error
	w.buf, data, err = encodeRecord(w.buf, v)
	if err != nil {
		return err
	}
	return b.Put(key, data)
}

// chunks returns every chunk of the writer, emptied (a chunk a large
// record outgrew is left to the collector).
func (w *recordWriter) chunks() [][]byte {
	out := w.free
	for _, c := range append(w.full, w.buf) {
		if cap(c) == recordChunk {
			out = append(out, c[:0])
		}
	}
	return out
}

// bbolt splits a node that outgrows its page into pages filled to the
// bucket's FillPercent, by default half: a commit inserting many keys into
// one node (the opening burst of a large fleet, and every event-log line)
// left the whole file about half empty, and storehub's resident memory
// holds the pages it maps. Keys that only grow (the event log, the
// notifications) fill their pages; records written once and then rewritten
// in place (agents, stores, installs, incidents) leave a tenth free for
// records that grow. A device's record grows once by about a quarter: the
// inventory writes it without a state report, and the first report adds
// its time and sequence number (about 70 bytes). A page cut at 90 % then
// overflows, and bbolt splits it into a full page and a nearly empty one:
// the devices' pages ended half empty (48 % in the 10,000-store chain,
// 178 MiB of pages for 91 MiB of records). Cut at 80 %, the grown records
// still fit their page (85 %, 108 MiB; BenchmarkFileAtFleetSize and
// docs/benchmarks.md). The setting is per transaction, not stored: it
// changes how new pages are cut, never how a file is read.
var fillPercent = map[string]float64{
	string(bLog): 1.0, string(bNotifications): 1.0,
	string(bDevices): 0.8, string(bAgents): 0.9, string(bStores): 0.9, string(bInstalls): 0.9, string(bIncidents): 0.9,
	string(bTimeline): 0.9,
}

func setFill(tx *bolt.Tx) {
	for name, f := range fillPercent {
		if b := tx.Bucket([]byte(name)); b != nil {
			b.FillPercent = f
		}
	}
}

// putLatest writes the last version of each record in xs.
func putLatest[T any](w *recordWriter, b *bolt.Bucket, xs []T, key func(T) string) error {
	// A pointer each: a record passed by value as an any is a copy.
	latest := Latest(xs, key)
	for i := range latest {
		if err := w.put(b, []byte(key(latest[i])), &latest[i]); err != nil {
			return err
		}
	}
	return nil
}

// timelineKey orders entries by incident, then by insertion.
func timelineKey(id string, seq uint64) []byte {
	return append([]byte(id+"/"), u64(seq)...)
}

// logKey orders the event log by time, then by insertion.
func logKey(at time.Time, seq uint64) []byte {
	k := make([]byte, 16)
	binary.BigEndian.PutUint64(k, uint64(at.UnixNano()))
	binary.BigEndian.PutUint64(k[8:], seq)
	return k
}

// Commit implements Store.
func (s *Bolt) Commit(c incident.Changes) error {
	if c.Empty() {
		return nil
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		// The chunks of the last commit, which has ended: this function
		// runs under bbolt's writer lock, taken before and released after
		// each commit.
		w := recordWriter{free: s.chunks}
		defer func() { s.chunks = w.chunks() }()
		put := w.put
		setFill(tx)
		inc := tx.Bucket(bIncidents)
		meta := tx.Bucket(bMeta)
		last := uint64(0)
		if v := meta.Get(keyLastID); v != nil {
			last = binary.BigEndian.Uint64(v)
		}
		for i := range c.Incidents {
			last = max(last, IncidentNumber(c.Incidents[i].ID))
		}
		if err := putLatest(&w, inc, c.Incidents, func(r incident.Incident) string { return r.ID }); err != nil {
			return err
		}
		if err := meta.Put(keyLastID, u64(last)); err != nil {
			return err
		}
		for _, l := range c.Tickets {
			if err := linkTicket(inc, l); err != nil {
				return err
			}
		}
		tl := tx.Bucket(bTimeline)
		for _, e := range c.Timeline {
			seq, _ := tl.NextSequence()
			if err := put(tl, timelineKey(e.Incident, seq), e); err != nil {
				return err
			}
		}
		nb := tx.Bucket(bNotifications)
		for i := range c.Notifications {
			seq, _ := nb.NextSequence()
			c.Notifications[i].Seq = seq
			if err := put(nb, u64(seq), c.Notifications[i]); err != nil {
				return err
			}
		}
		lb := tx.Bucket(bLog)
		for i := range c.Log {
			seq, _ := lb.NextSequence()
			if err := put(lb, logKey(c.Log[i].At, seq), &c.Log[i]); err != nil {
				return err
			}
		}
		// A batch often carries several versions of one record; only the
		// last is written.
		if err := putLatest(&w, tx.Bucket(bStores), c.Stores, func(r incident.StoreRecord) string { return r.Tenant + "/" + r.Store }); err != nil {
			return err
		}
		if err := putLatest(&w, tx.Bucket(bAgents), c.Agents, func(r incident.AgentRecord) string { return r.ID().String() }); err != nil {
			return err
		}
		if err := recordInstalls(tx, c.Devices); err != nil {
			return err
		}
		if err := putLatest(&w, tx.Bucket(bDevices), c.Devices, func(r incident.DeviceRecord) string { return r.Tenant + "/" + r.Store + "/" + r.ID }); err != nil {
			return err
		}
		for _, ep := range c.Episodes {
			k := episodeKey(ep)
			if err := tx.Bucket(bEpisodes).Put(k, nil); err != nil {
				return err
			}
			if err := indexEpisode(tx.Bucket(bModelEpisodes), ep); err != nil {
				return err
			}
		}
		for _, w := range c.Windows {
			if err := put(tx.Bucket(bWindows), []byte(w.ID), w); err != nil {
				return err
			}
		}
		for _, id := range c.DeleteWindows {
			if err := tx.Bucket(bWindows).Delete([]byte(id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if len(c.Notifications) > 0 {
		s.mu.Lock()
		close(s.notified)
		s.notified = make(chan struct{})
		s.mu.Unlock()
	}
	return nil
}

// Notified implements Store.
func (s *Bolt) Notified() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.notified
}

func each[T any](b *bolt.Bucket, fn func(T)) error {
	return b.ForEach(func(_, v []byte) error {
		var x T
		if err := json.Unmarshal(v, &x); err != nil {
			return err
		}
		fn(x)
		return nil
	})
}

// Snapshot implements Store.
func (s *Bolt) Snapshot(window time.Duration, now time.Time) (incident.Snapshot, error) {
	var snap incident.Snapshot
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bMeta).Get(keyLastID); v != nil {
			snap.LastID = binary.BigEndian.Uint64(v)
		}
		if err := each(tx.Bucket(bStores), func(r incident.StoreRecord) { snap.Stores = append(snap.Stores, r) }); err != nil {
			return err
		}
		if err := each(tx.Bucket(bAgents), func(r incident.AgentRecord) { snap.Agents = append(snap.Agents, r) }); err != nil {
			return err
		}
		if err := each(tx.Bucket(bDevices), func(r incident.DeviceRecord) { snap.Devices = append(snap.Devices, r) }); err != nil {
			return err
		}
		if err := each(tx.Bucket(bWindows), func(w incident.Window) { snap.Windows = append(snap.Windows, w) }); err != nil {
			return err
		}
		cut := now.Add(-window)
		if err := each(tx.Bucket(bIncidents), func(inc incident.Incident) {
			if inc.State.Live() || (inc.Kind == incident.KindChronic && inc.OpenedAt.After(cut)) {
				snap.Incidents = append(snap.Incidents, inc)
			}
		}); err != nil {
			return err
		}
		return tx.Bucket(bEpisodes).ForEach(func(k, _ []byte) error {
			key, t, ok := splitEpisodeKey(k)
			if ok && t.After(cut) {
				snap.Episodes = append(snap.Episodes, incident.Episode{Key: key, Start: t})
			}
			return nil
		})
	})
	if err != nil {
		return snap, fmt.Errorf("store: snapshot: %w", err)
	}
	return snap, nil
}

// Incident implements Store.
func (s *Bolt) Incident(id string) (incident.Incident, error) {
	var inc incident.Incident
	err := s.db.View(func(tx *bolt.Tx) error {
		v := tx.Bucket(bIncidents).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("incident %q: %w", id, ErrNotFound)
		}
		return json.Unmarshal(v, &inc)
	})
	return inc, err
}

// Incidents implements Store.
func (s *Bolt) Incidents(f Filter) ([]incident.Incident, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []incident.Incident
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIncidents).Cursor()
		for k, v := c.Last(); k != nil; k, v = c.Prev() {
			var inc incident.Incident
			if err := json.Unmarshal(v, &inc); err != nil {
				return fmt.Errorf("incident %s: %w", k, err)
			}
			if f.Match(&inc) {
				out = append(out, inc)
			}
		}
		return nil
	})
	// Ids are INC-%06d, so byte order is number order only up to a
	// million; sort by number to be safe.
	sort.SliceStable(out, func(i, j int) bool { return IncidentNumber(out[i].ID) > IncidentNumber(out[j].ID) })
	if len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// Timeline implements Store.
func (s *Bolt) Timeline(id string) ([]incident.Entry, error) {
	var out []incident.Entry
	err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bIncidents).Get([]byte(id)) == nil {
			return fmt.Errorf("incident %q: %w", id, ErrNotFound)
		}
		prefix := []byte(id + "/")
		c := tx.Bucket(bTimeline).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			var e incident.Entry
			if err := json.Unmarshal(v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

// AppendTimeline implements Store.
func (s *Bolt) AppendTimeline(e incident.Entry) error {
	return s.db.Update(func(tx *bolt.Tx) error {
		if tx.Bucket(bIncidents).Get([]byte(e.Incident)) == nil {
			return fmt.Errorf("incident %q: %w", e.Incident, ErrNotFound)
		}
		tl := tx.Bucket(bTimeline)
		seq, _ := tl.NextSequence()
		return put(tl, timelineKey(e.Incident, seq), e)
	})
}

// Notifications implements Store.
func (s *Bolt) Notifications(after uint64, limit int) ([]incident.Notification, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []incident.Notification
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bNotifications).Cursor()
		for k, v := c.Seek(u64(after + 1)); k != nil && len(out) < limit; k, v = c.Next() {
			var n incident.Notification
			if err := json.Unmarshal(v, &n); err != nil {
				return err
			}
			out = append(out, n)
		}
		return nil
	})
	return out, err
}

// Cursor implements Store.
func (s *Bolt) Cursor(consumer string) (uint64, error) {
	var seq uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if v := tx.Bucket(bCursors).Get([]byte(consumer)); len(v) == 8 {
			seq = binary.BigEndian.Uint64(v)
		}
		return nil
	})
	return seq, err
}

// SetCursor implements Store.
func (s *Bolt) SetCursor(consumer string, seq uint64) error {
	return s.db.Update(func(tx *bolt.Tx) error { return tx.Bucket(bCursors).Put([]byte(consumer), u64(seq)) })
}

// Log implements Store.
func (s *Bolt) Log(from, to time.Time, limit int) ([]incident.LogEntry, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	var out []incident.LogEntry
	err := s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bLog).Cursor()
		end := u64(uint64(to.UnixNano()))
		for k, v := c.Seek(u64(uint64(from.UnixNano()))); k != nil && bytes.Compare(k[:8], end) < 0 && len(out) < limit; k, v = c.Next() {
			var l incident.LogEntry
			if err := json.Unmarshal(v, &l); err != nil {
				return err
			}
			out = append(out, l)
		}
		return nil
	})
	return out, err
}

// initialMmap maps this much of the file from the start: bbolt remaps (and
// blocks every reader and the writer) each time the file outgrows the map,
// which showed as latency spikes while the event log grew. The mapping is
// virtual address space, not memory.
const initialMmap = 1 << 30

// pruneBatch bounds the deletions of one transaction, so pruning a long
// history never holds the writer for long.
const pruneBatch = 10000

// PruneLog implements Store.
func (s *Bolt) PruneLog(before time.Time) (int, error) {
	end := u64(uint64(before.UnixNano()))
	total := 0
	for {
		n := 0
		err := s.db.Update(func(tx *bolt.Tx) error {
			b := tx.Bucket(bLog)
			var keys [][]byte
			c := b.Cursor()
			for k, _ := c.First(); k != nil && bytes.Compare(k[:8], end) < 0 && len(keys) < pruneBatch; k, _ = c.Next() {
				keys = append(keys, bytes.Clone(k))
			}
			for _, k := range keys { // not Cursor.Delete: it skips keys (bbolt#146)
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			n = len(keys)
			return nil
		})
		total += n
		if err != nil {
			return total, fmt.Errorf("store: prune log: %w", err)
		}
		if n < pruneBatch {
			return total, nil
		}
	}
}
