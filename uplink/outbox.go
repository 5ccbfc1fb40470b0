package uplink

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"sync"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/storewatch/storewatch/wire"
)

// Buckets and meta keys of the outbox file.
var (
	bucketMeta = []byte("meta")
	bucketOf   = map[Class][]byte{ClassEvent: []byte("events"), ClassTelemetry: []byte("telemetry")}
	// bucketSent keeps the last KeepSent events after their PUBACK, for a
	// hub that asks for them again (wire.OpResend).
	bucketSent = []byte("sent")

	keySchema    = []byte("schema")
	keySeq       = []byte("seq")
	keyBoots     = []byte("boots")
	keyAgent     = []byte("agent")
	keyIncidents = []byte("incidents")
	keyCollapsed = []byte("collapsed/samples")
)

const schemaVersion = 1

func keyBoot(n uint64) []byte   { return []byte("boot/" + strconv.FormatUint(n, 10)) }
func keyDropped(c Class) []byte { return []byte("dropped/" + c.String()) }

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

// elementOverhead is what bbolt spends per key/value beyond their bytes (its
// leaf element header), counted so the byte budget tracks the file.
const elementOverhead = 16

func recordCost(valueLen int) int64 { return int64(8 + valueLen + elementOverhead) }

// ErrClosed is returned when appending to an outbox that has been closed.
var ErrClosed = errors.New("uplink: outbox closed")

// ErrInUse is returned when another process (a running agent) holds the
// outbox file.
var ErrInUse = errors.New("outbox file is in use")

type outboxOptions struct {
	Path     string
	MaxBytes int64
	MaxAge   time.Duration
	// OpenTimeout bounds the wait for bbolt's file lock.
	OpenTimeout time.Duration
	// CommitInterval is the least time between two commits of appended
	// records: appends that arrive meanwhile share one transaction and one
	// fsync. The first append after a quiet spell commits at once.
	CommitInterval time.Duration
	// MaxBatch ends a group early when this many records are waiting.
	MaxBatch int
	// KeepSent is how many events stay in the file once the broker has
	// acknowledged them (the newest), for the hub to ask for again; 0
	// keeps none.
	KeepSent int
	Agent    wire.AgentID
	Boot     string
	Logger   *slog.Logger
	Now      func() time.Time
}

// classState is the outbox's own accounting of one class.
type classState struct {
	Count  int
	Bytes  int64
	Oldest time.Time // header time of the oldest record; zero when empty
	First  uint64    // sequence number of the oldest record
}

type outboxState struct {
	class     map[Class]*classState
	lastSeq   uint64
	dropped   map[Class]uint64
	collapsed uint64 // samples taken out of records that stayed (collapse.go)
	incidents []string
	sent      int // events kept after their PUBACK (bucketSent)
}

func (s *outboxState) clone() *outboxState {
	c := &outboxState{class: map[Class]*classState{}, lastSeq: s.lastSeq, dropped: map[Class]uint64{}, collapsed: s.collapsed, incidents: s.incidents, sent: s.sent}
	for k, v := range s.class {
		cs := *v
		c.class[k] = &cs
	}
	for k, v := range s.dropped {
		c.dropped[k] = v
	}
	return c
}

func (s *outboxState) total() int64 {
	var n int64
	for _, c := range s.class {
		n += c.Bytes
	}
	return n
}

// outbox is the bbolt store-and-forward buffer. One writer goroutine owns
// every write transaction, grouping appends and acknowledgements.
type outbox struct {
	opt     outboxOptions
	db      *bolt.DB
	bootNum uint64
	log     *slog.Logger

	ops     chan *writeOp
	notify  chan struct{} // a record was appended
	stopped chan struct{} // writer has exited

	closeMu sync.RWMutex
	closed  bool

	mu    sync.Mutex
	st    *outboxState
	boots map[uint64]string

	// sinceCollapse counts telemetry records appended since telemetry was
	// last collapsed; only the writer uses it.
	sinceCollapse int

	headers headerTemplates
}

type pendingRecord struct {
	rec record
	seq uint64 // set by the writer when committed
}

type ack struct {
	class Class
	seq   uint64
}

type writeOp struct {
	appends []*pendingRecord
	acks    []ack
	done    chan error // buffered; nil for fire-and-forget
	// urgent ends the group at once instead of at the commit interval.
	urgent bool
}

// openOutbox opens (or creates) the outbox, quarantining a corrupt file,
// compacting a mostly empty one, and starts the writer.
func openOutbox(o outboxOptions) (*outbox, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.OpenTimeout <= 0 {
		o.OpenTimeout = 5 * time.Second
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 5000
	}
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o750); err != nil {
		return nil, fmt.Errorf("outbox: %w", err)
	}
	ob := &outbox{opt: o, log: o.Logger, ops: make(chan *writeOp, 256), notify: make(chan struct{}, 1), stopped: make(chan struct{}),
		headers: headerTemplates{id: o.Agent}, sinceCollapse: 1 << 30}
	var incidents []string
	var loadErr error
	for attempt := 0; attempt < 2; attempt++ {
		loadErr = ob.load(incidents)
		if loadErr == nil || !corrupt(loadErr) || attempt == 1 {
			break
		}
		inc, err := ob.quarantine(loadErr)
		if err != nil {
			return nil, err
		}
		incidents = append(incidents, inc)
	}
	if loadErr != nil {
		return nil, loadErr
	}
	go ob.writer()
	return ob, nil
}

// corrupt tells a damaged file, which is moved aside, from trouble that a
// new file would not cure (a lock held by another agent, permissions).
func corrupt(err error) bool {
	return !errors.Is(err, ErrInUse) && !errors.Is(err, fs.ErrPermission) && !errors.Is(err, fs.ErrNotExist) &&
		!errors.Is(err, syscall.ENOSPC) && !errors.Is(err, syscall.EROFS)
}

func boltOptions(o outboxOptions, readOnly bool) *bolt.Options {
	return &bolt.Options{
		Timeout:        o.OpenTimeout,
		NoFreelistSync: true,
		FreelistType:   bolt.FreelistMapType,
		MaxSize:        int(o.MaxBytes),
		ReadOnly:       readOnly,
	}
}

func openBolt(path string, o *bolt.Options) (db *bolt.DB, err error) {
	defer func() {
		// bbolt panics on some damaged pages; that is a corrupt file, not a
		// reason to stop monitoring.
		if p := recover(); p != nil {
			if db != nil {
				db.Close()
			}
			db, err = nil, fmt.Errorf("%w: bbolt panicked: %v", berrors.ErrInvalid, p)
		}
	}()
	old := debug.SetPanicOnFault(true) // a fault in the mapped file is a corrupt file
	defer debug.SetPanicOnFault(old)
	if err := checkBoltFile(path); err != nil {
		return nil, err
	}
	if !o.ReadOnly {
		// Opening for writing makes bbolt rebuild its freelist (we do not
		// sync it) by walking every page on a goroutine of its own, where a
		// damaged page is a panic nobody can recover. Walk the file first,
		// read-only, here, where it can.
		if err := walkFile(path, o.Timeout); err != nil {
			return nil, err
		}
	}
	db, err = bolt.Open(path, 0o600, o)
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("outbox %s: %w: another process holds it (is storeagent running?); waited %v", path, ErrInUse, o.Timeout)
	}
	if err != nil {
		return nil, err
	}
	db.AllocSize = allocSize
	return db, nil
}

// allocSize is how much the file grows at a time once it is past that size
// (bbolt's default is 16 MiB, which leaves a file of a few MiB of records
// up to 16 MiB larger than they are). Each growth costs a truncate and an
// fsync, so 1 MiB still makes them rare.
const allocSize = 1 << 20

// walkFile reads every page of the file's buckets, read-only.
func walkFile(path string, timeout time.Duration) (err error) {
	if _, serr := os.Stat(path); serr != nil {
		return nil
	}
	db, err := openBolt(path, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: damaged page: %v", berrors.ErrInvalid, p)
		}
	}()
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if v == nil {
				if sub := b.Bucket(k); sub != nil {
					if err := walk(sub); err != nil {
						return err
					}
				}
			}
		}
		return nil
	}
	return db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
	})
}

// load opens the file, scans it and sets up the state and boot.
func (ob *outbox) load(incidents []string) (err error) {
	o := ob.opt
	db, err := openBolt(o.Path, boltOptions(o, false))
	if err != nil {
		return err
	}
	if compacted, cerr := ob.maybeCompact(db); cerr != nil {
		ob.log.Warn("outbox compaction failed; going on with the file as it is", "path", o.Path, "err", cerr)
	} else if compacted != nil {
		db = compacted
	}
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("%w: bbolt panicked while reading: %v", berrors.ErrInvalid, p)
		}
		if err != nil {
			db.Close()
		}
	}()
	st := &outboxState{class: map[Class]*classState{}, dropped: map[Class]uint64{}}
	boots := map[uint64]string{}
	var bootNum uint64
	err = db.Update(func(tx *bolt.Tx) error {
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if v := meta.Get(keySchema); v != nil && string(v) != strconv.Itoa(schemaVersion) {
			return fmt.Errorf("%w: outbox schema %q, this build writes %d", berrors.ErrVersionMismatch, v, schemaVersion)
		}
		if err := meta.Put(keySchema, []byte(strconv.Itoa(schemaVersion))); err != nil {
			return err
		}
		if v := meta.Get(keySeq); len(v) == 8 {
			st.lastSeq = binary.BigEndian.Uint64(v)
		} else {
			// A new file starts numbering at the current time in
			// microseconds, so a deleted or quarantined outbox never makes
			// the agent reuse sequence numbers the hub has already seen.
			st.lastSeq = uint64(o.Now().UnixMicro())
		}
		for _, c := range classes {
			st.dropped[c] = getUint64(meta, keyDropped(c))
		}
		st.collapsed = getUint64(meta, keyCollapsed)
		if v := meta.Get(keyIncidents); v != nil {
			_ = json.Unmarshal(v, &st.incidents) // a damaged list is not worth a failure
		}
		if v := meta.Get(keyBoots); len(v) == 8 {
			bootNum = binary.BigEndian.Uint64(v)
		}
		bootNum++
		used := map[uint64]bool{bootNum: true}
		for _, c := range classes {
			b, err := tx.CreateBucketIfNotExists(bucketOf[c])
			if err != nil {
				return err
			}
			cs := &classState{}
			st.class[c] = cs
			var bad [][]byte
			cur := b.Cursor()
			for k, v := cur.First(); k != nil; k, v = cur.Next() {
				r, err := decodeRecord(v)
				if err != nil || len(k) != 8 || r.class != c {
					bad = append(bad, append([]byte(nil), k...))
					continue
				}
				if cs.Count == 0 {
					cs.Oldest, cs.First = time.Unix(0, r.time).UTC(), binary.BigEndian.Uint64(k)
				}
				cs.Count++
				cs.Bytes += recordCost(len(v))
				used[r.boot] = true
				if s := binary.BigEndian.Uint64(k); s > st.lastSeq {
					st.lastSeq = s
				}
			}
			// Collected first, deleted after: deleting under a cursor
			// skips keys in bbolt v1.5.0.
			for _, k := range bad {
				if err := b.Delete(k); err != nil {
					return err
				}
			}
			if len(bad) > 0 {
				incidents = append(incidents, fmt.Sprintf("%s: dropped %d unreadable %s record(s)", o.Now().UTC().Format(time.RFC3339), len(bad), c))
				st.dropped[c] += uint64(len(bad))
			}
		}
		sent, err := tx.CreateBucketIfNotExists(bucketSent)
		if err != nil {
			return err
		}
		var bad [][]byte
		cur := sent.Cursor()
		for k, v := cur.First(); k != nil; k, v = cur.Next() {
			r, err := decodeRecord(v)
			if err != nil || len(k) != 8 {
				bad = append(bad, append([]byte(nil), k...))
				continue
			}
			st.sent++
			used[r.boot] = true
		}
		for _, k := range bad { // already delivered: nothing to count
			if err := sent.Delete(k); err != nil {
				return err
			}
		}
		// The boot table: keep the entries records still refer to.
		bc := meta.Cursor()
		var stale [][]byte
		for k, v := bc.Seek([]byte("boot/")); k != nil && len(k) > 5 && string(k[:5]) == "boot/"; k, v = bc.Next() {
			n, err := strconv.ParseUint(string(k[5:]), 10, 64)
			if err != nil || !used[n] {
				stale = append(stale, append([]byte(nil), k...))
				continue
			}
			boots[n] = string(v)
		}
		for _, k := range stale {
			if err := meta.Delete(k); err != nil {
				return err
			}
		}
		boots[bootNum] = o.Boot
		if err := meta.Put(keyBoot(bootNum), []byte(o.Boot)); err != nil {
			return err
		}
		if err := meta.Put(keyBoots, binary.BigEndian.AppendUint64(nil, bootNum)); err != nil {
			return err
		}
		ab, _ := json.Marshal(o.Agent)
		if err := meta.Put(keyAgent, ab); err != nil {
			return err
		}
		st.incidents = append(st.incidents, incidents...)
		if len(st.incidents) > maxIncidents {
			st.incidents = st.incidents[len(st.incidents)-maxIncidents:]
		}
		return putMeta(meta, st)
	})
	if err != nil {
		return err
	}
	ob.db, ob.st, ob.boots, ob.bootNum = db, st, boots, bootNum
	return nil
}

const maxIncidents = 10

// getUint64 reads a counter of the meta bucket; a missing or damaged one
// is 0.
func getUint64(meta *bolt.Bucket, key []byte) uint64 {
	if v := meta.Get(key); len(v) == 8 {
		return binary.BigEndian.Uint64(v)
	}
	return 0
}

func putMeta(meta *bolt.Bucket, st *outboxState) error {
	if err := meta.Put(keySeq, seqKey(st.lastSeq)); err != nil {
		return err
	}
	for _, c := range classes {
		if err := meta.Put(keyDropped(c), binary.BigEndian.AppendUint64(nil, st.dropped[c])); err != nil {
			return err
		}
	}
	if err := meta.Put(keyCollapsed, binary.BigEndian.AppendUint64(nil, st.collapsed)); err != nil {
		return err
	}
	ib, _ := json.Marshal(st.incidents)
	return meta.Put(keyIncidents, ib)
}

// quarantine moves an unusable file aside so monitoring goes on with a
// fresh one, and returns the incident to report.
func (ob *outbox) quarantine(cause error) (string, error) {
	now := ob.opt.Now().UTC()
	aside := ob.opt.Path + ".corrupt-" + now.Format("20060102T150405Z")
	if err := os.Rename(ob.opt.Path, aside); err != nil {
		return "", fmt.Errorf("outbox %s is unusable (%v) and cannot be moved aside: %w", ob.opt.Path, cause, err)
	}
	inc := fmt.Sprintf("%s: outbox file was unusable (%v); moved aside to %s and started a new one", now.Format(time.RFC3339), cause, aside)
	ob.log.Error("outbox file was unusable; moved aside, starting with a new one", "path", ob.opt.Path, "moved_to", aside, "err", cause)
	return inc, nil
}

// Compaction: bbolt files never shrink. When the file is large and mostly
// free (after draining a long outage), copy the live data to a new file,
// fsync it and rename it over the old one.
const compactMinFile = 4 << 20

func (ob *outbox) maybeCompact(db *bolt.DB) (*bolt.DB, error) {
	fi, err := os.Stat(ob.opt.Path)
	if err != nil || fi.Size() < compactMinFile {
		return nil, err
	}
	var inUse int64
	err = db.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(_ []byte, b *bolt.Bucket) error {
			s := b.Stats()
			inUse += int64(s.BranchInuse + s.LeafInuse)
			return nil
		})
	})
	if err != nil || inUse*4 > fi.Size() {
		return nil, err
	}
	tmp := ob.opt.Path + ".compact"
	_ = os.Remove(tmp)
	dst, err := bolt.Open(tmp, 0o600, boltOptions(ob.opt, false))
	if err != nil {
		return nil, err
	}
	if err := bolt.Compact(dst, db, 1<<20); err != nil {
		dst.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := dst.Sync(); err != nil {
		dst.Close()
		os.Remove(tmp)
		return nil, err
	}
	dst.Close()
	db.Close()
	if err := os.Rename(tmp, ob.opt.Path); err != nil {
		os.Remove(tmp)
		ob.log.Warn("outbox compaction could not replace the file", "path", ob.opt.Path, "err", err)
	}
	syncDir(filepath.Dir(ob.opt.Path))
	nfi, _ := os.Stat(ob.opt.Path)
	ob.log.Info("outbox compacted", "path", ob.opt.Path, "before_bytes", fi.Size(), "after_bytes", nfi.Size())
	return openBolt(ob.opt.Path, boltOptions(ob.opt, false))
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // not supported everywhere (Windows); the rename is still atomic
		d.Close()
	}
}

// --- writer -----------------------------------------------------------------

// budget is the byte budget of live records: half the file cap, so bbolt's
// copy-on-write pages and free space fit in the other half.
func (ob *outbox) budget() int64 {
	if ob.opt.MaxBytes <= 0 {
		return 1<<63 - 1
	}
	return ob.opt.MaxBytes / 2
}

func (ob *outbox) writer() {
	defer close(ob.stopped)
	var lastCommit time.Time
	ageEvery := time.Minute
	if ob.opt.MaxAge > 0 && ob.opt.MaxAge/10 < ageEvery {
		ageEvery = max(ob.opt.MaxAge/10, 10*time.Millisecond)
	}
	ageTick := time.NewTicker(ageEvery)
	defer ageTick.Stop()
	for {
		var batch []*writeOp
		select {
		case op, ok := <-ob.ops:
			if !ok {
				return
			}
			batch = append(batch, op)
		case <-ageTick.C:
			ob.commit(nil)
			continue
		}
		n := len(batch[0].appends)
		var wait <-chan time.Time
		var timer *time.Timer
		if d := time.Until(lastCommit.Add(ob.opt.CommitInterval)); d > 0 && !batch[0].urgent {
			timer = time.NewTimer(d)
			wait = timer.C
		}
	gather:
		for n < ob.opt.MaxBatch {
			var op *writeOp
			var ok bool
			if wait == nil { // commit now with whatever is already queued
				select {
				case op, ok = <-ob.ops:
				default:
					break gather
				}
			} else { // keep gathering until the commit interval is over
				select {
				case op, ok = <-ob.ops:
				case <-wait:
					break gather
				}
			}
			if !ok {
				break gather
			}
			batch = append(batch, op)
			n += len(op.appends)
			if op.urgent { // a flush: commit what is queued now
				wait = nil
			}
		}
		if timer != nil {
			timer.Stop()
		}
		lastCommit = time.Now()
		err := ob.commit(batch)
		for _, op := range batch {
			if op.done != nil {
				op.done <- err
			}
		}
		if err == nil && n > 0 {
			select {
			case ob.notify <- struct{}{}:
			default:
			}
		}
	}
}

// commit applies a group of operations in one transaction. When bbolt
// reports the file cap reached, it evicts in a transaction of its own (freed
// pages are reusable only after that commit) and tries again.
func (ob *outbox) commit(batch []*writeOp) error {
	var err error
	for attempt := 0; attempt < 8; attempt++ {
		err = ob.tryCommit(batch)
		if !errors.Is(err, berrors.ErrMaxSizeReached) {
			break
		}
		ob.log.Warn("outbox file reached its size cap; evicting", "max_bytes", ob.opt.MaxBytes)
		if ferr := ob.freeSpace(attempt); ferr != nil && !errors.Is(ferr, berrors.ErrMaxSizeReached) {
			err = ferr
			break
		}
	}
	if err != nil {
		ob.log.Error("outbox write failed", "err", err)
		if errors.Is(err, berrors.ErrMaxSizeReached) {
			// The records could not be kept: count them as dropped.
			ob.mu.Lock()
			for _, op := range batch {
				for _, p := range op.appends {
					ob.st.dropped[p.rec.class]++
				}
			}
			ob.mu.Unlock()
		}
		return fmt.Errorf("outbox %s: %w", ob.opt.Path, err)
	}
	return nil
}

func (ob *outbox) tryCommit(batch []*writeOp) error {
	ob.mu.Lock()
	next := ob.st.clone()
	ob.mu.Unlock()
	now := ob.opt.Now()
	err := ob.db.Update(func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		bk := map[Class]*bolt.Bucket{}
		for _, c := range classes {
			bk[c] = tx.Bucket(bucketOf[c])
			bk[c].FillPercent = 0.95 // keys only ever grow: pack the pages
		}
		sent := tx.Bucket(bucketSent)
		sent.FillPercent = 0.95
		for _, op := range batch {
			for _, a := range op.acks {
				k := seqKey(a.seq)
				if v := bk[a.class].Get(k); v != nil {
					next.class[a.class].Count--
					next.class[a.class].Bytes -= recordCost(len(v))
					if a.class == ClassEvent && ob.opt.KeepSent > 0 {
						if err := sent.Put(k, append([]byte(nil), v...)); err != nil {
							return err
						}
						next.sent++
					}
					if err := bk[a.class].Delete(k); err != nil {
						return err
					}
				}
			}
		}
		if err := trimSent(sent, next, ob.opt.KeepSent); err != nil {
			return err
		}
		if ob.opt.MaxAge > 0 {
			cutoff := now.Add(-ob.opt.MaxAge).UnixNano()
			for _, c := range []Class{ClassTelemetry, ClassEvent} {
				if err := evict(bk[c], next, c, func(r record, _ int64) bool { return r.time < cutoff }); err != nil {
					return err
				}
			}
		}
		var incoming int64
		slabSize := 0
		for _, op := range batch {
			for _, p := range op.appends {
				incoming += recordCost(len(p.rec.body) + 24)
				slabSize += 8 + p.rec.maxSize()
			}
		}
		if over := next.total() + incoming - ob.budget(); over > 0 {
			if ob.collapseDue(next.class[ClassTelemetry]) {
				freed, err := ob.collapseTelemetry(bk[ClassTelemetry], next)
				if err != nil {
					return err
				}
				over -= freed
			}
			for _, c := range []Class{ClassTelemetry, ClassEvent} {
				if over <= 0 {
					break
				}
				freed := int64(0)
				err := evict(bk[c], next, c, func(_ record, cost int64) bool {
					if freed >= over {
						return false
					}
					freed += cost
					return true
				})
				if err != nil {
					return err
				}
				if over -= freed; over <= 0 {
					break
				}
			}
		}
		slab := make([]byte, 0, slabSize)
		for _, op := range batch {
			for _, p := range op.appends {
				next.lastSeq++
				p.seq = next.lastSeq
				p.rec.boot = ob.bootNum
				// Keys and values of the whole group share one slab: bbolt
				// keeps them, uncopied, until the transaction ends.
				k0 := len(slab)
				slab = binary.BigEndian.AppendUint64(slab, p.seq)
				slab = p.rec.appendTo(slab)
				k, v := slab[k0:k0+8:k0+8], slab[k0+8:len(slab):len(slab)]
				if err := bk[p.rec.class].Put(k, v); err != nil {
					return err
				}
				cs := next.class[p.rec.class]
				if cs.Count == 0 {
					cs.Oldest, cs.First = time.Unix(0, p.rec.time).UTC(), p.seq
				}
				cs.Count++
				cs.Bytes += recordCost(len(v))
				if p.rec.class == ClassTelemetry {
					ob.sinceCollapse++
				}
			}
		}
		for _, c := range classes {
			refreshOldest(bk[c], next.class[c])
		}
		return putMeta(meta, next)
	})
	if err != nil {
		return err
	}
	ob.mu.Lock()
	next.dropped = mergeDropped(ob.st.dropped, next.dropped)
	ob.st = next
	ob.mu.Unlock()
	return nil
}

// mergeDropped keeps drops counted outside a transaction (records a failed
// commit could not keep) that happened while the transaction ran.
func mergeDropped(live, committed map[Class]uint64) map[Class]uint64 {
	out := map[Class]uint64{}
	for _, c := range classes {
		out[c] = max(live[c], committed[c])
	}
	return out
}

// evict deletes records of class c from the oldest while take says so,
// counting them as dropped.
func evict(b *bolt.Bucket, st *outboxState, c Class, take func(r record, cost int64) bool) error {
	var keys [][]byte
	var freed int64
	cur := b.Cursor()
	for k, v := cur.First(); k != nil; k, v = cur.Next() {
		r, err := decodeRecord(v)
		cost := recordCost(len(v))
		if err == nil && !take(r, cost) {
			break
		}
		keys = append(keys, append([]byte(nil), k...))
		freed += cost
	}
	// Collected first, deleted after: bbolt v1.5.0's Cursor.Delete followed
	// by Next skips keys.
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	if len(keys) > 0 {
		st.class[c].Count -= len(keys)
		st.class[c].Bytes -= freed
		st.dropped[c] += uint64(len(keys))
	}
	return nil
}

// trimSent deletes the oldest kept events beyond keep.
func trimSent(b *bolt.Bucket, st *outboxState, keep int) error {
	if st.sent <= keep {
		return nil
	}
	var keys [][]byte
	cur := b.Cursor()
	for k, _ := cur.First(); k != nil && len(keys) < st.sent-keep; k, _ = cur.Next() {
		keys = append(keys, append([]byte(nil), k...))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	st.sent -= len(keys)
	return nil
}

func refreshOldest(b *bolt.Bucket, cs *classState) {
	k, v := b.Cursor().First()
	if k == nil {
		cs.Count, cs.Bytes, cs.Oldest, cs.First = 0, 0, time.Time{}, 0
		return
	}
	cs.First = binary.BigEndian.Uint64(k)
	if r, err := decodeRecord(v); err == nil {
		cs.Oldest = time.Unix(0, r.time).UTC()
	}
}

// freeSpace runs after bbolt refused to grow the file: it evicts a growing
// share of the oldest records, telemetry first, in a transaction of its own.
// (Collapsing happens at the byte budget, half the file cap, which a file
// reaches first unless a single group of appends is a large part of it.)
func (ob *outbox) freeSpace(attempt int) error {
	ob.mu.Lock()
	next := ob.st.clone()
	ob.mu.Unlock()
	share := 0.1 * float64(attempt+1)
	err := ob.db.Update(func(tx *bolt.Tx) error {
		if next.sent > 0 {
			// Events already delivered go before anything waiting.
			if err := trimSent(tx.Bucket(bucketSent), next, 0); err != nil {
				return err
			}
			return putMeta(tx.Bucket(bucketMeta), next)
		}
		for _, c := range []Class{ClassTelemetry, ClassEvent} {
			n := int(float64(next.class[c].Count)*share) + 1
			if next.class[c].Count == 0 {
				continue
			}
			b := tx.Bucket(bucketOf[c])
			if err := evict(b, next, c, func(record, int64) bool { n--; return n >= 0 }); err != nil {
				return err
			}
			refreshOldest(b, next.class[c])
			break
		}
		return putMeta(tx.Bucket(bucketMeta), next)
	})
	if err == nil {
		ob.mu.Lock()
		next.dropped = mergeDropped(ob.st.dropped, next.dropped)
		ob.st = next
		ob.mu.Unlock()
	}
	return err
}

// submit hands an operation to the writer and waits for its commit (if it
// has a done channel).
func (ob *outbox) submit(ctx context.Context, op *writeOp) error {
	if err := ob.enqueue(ctx, op); err != nil {
		return err
	}
	if op.done == nil {
		return nil
	}
	select {
	case err := <-op.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// enqueue hands an operation to the writer without waiting for it.
func (ob *outbox) enqueue(ctx context.Context, op *writeOp) error {
	ob.closeMu.RLock()
	if ob.closed {
		ob.closeMu.RUnlock()
		return ErrClosed
	}
	select {
	case ob.ops <- op:
	case <-ctx.Done():
		ob.closeMu.RUnlock()
		return ctx.Err()
	}
	ob.closeMu.RUnlock()
	return nil
}

// append persists records; it returns once they are committed (fsynced).
func (ob *outbox) append(ctx context.Context, recs ...*pendingRecord) error {
	return ob.submit(ctx, &writeOp{appends: recs, done: make(chan error, 1)})
}

// ack deletes published records. With wait false it returns at once; the
// deletion joins the next group commit.
func (ob *outbox) ack(ctx context.Context, acks []ack, wait bool) error {
	op := &writeOp{acks: acks}
	if wait {
		op.done = make(chan error, 1)
	}
	return ob.submit(ctx, op)
}

// flush commits everything submitted before it now, without waiting for
// the commit interval, and returns when that is done.
func (ob *outbox) flush(ctx context.Context) error {
	return ob.submit(ctx, &writeOp{done: make(chan error, 1), urgent: true})
}

// close commits what is queued and closes the file.
func (ob *outbox) close() error {
	ob.closeMu.Lock()
	if ob.closed {
		ob.closeMu.Unlock()
		<-ob.stopped
		return nil
	}
	ob.closed = true
	close(ob.ops)
	ob.closeMu.Unlock()
	<-ob.stopped
	return ob.db.Close()
}

// --- reading -----------------------------------------------------------------

// entry is a record read back for publishing.
type entry struct {
	seq uint64
	rec record
}

// read returns up to max records of class c with from <= seq <= to, oldest
// first. Values are copied out of the transaction.
func (ob *outbox) read(c Class, from, to uint64, max int) ([]entry, error) {
	var out []entry
	err := ob.db.View(func(tx *bolt.Tx) error {
		cur := tx.Bucket(bucketOf[c]).Cursor()
		for k, v := cur.Seek(seqKey(from)); k != nil && len(out) < max; k, v = cur.Next() {
			seq := binary.BigEndian.Uint64(k)
			if seq > to {
				break
			}
			r, err := decodeRecord(append([]byte(nil), v...))
			if err != nil {
				ob.log.Error("outbox: skipping unreadable record", "seq", seq, "err", err)
				continue
			}
			out = append(out, entry{seq: seq, rec: r})
		}
		return nil
	})
	return out, err
}

// resendable looks the numbers of spans up for a resend: the events kept
// after their PUBACK (found, to publish again), the records still waiting
// (pending: they go out the usual way), and the rest (gone: telemetry
// collapsed or dropped, or events older than the kept ones).
func (ob *outbox) resendable(spans []wire.SeqSpan) (found []entry, pending int, gone []wire.SeqSpan, err error) {
	err = ob.db.View(func(tx *bolt.Tx) error {
		sent := tx.Bucket(bucketSent)
		waiting := []*bolt.Bucket{tx.Bucket(bucketOf[ClassEvent]), tx.Bucket(bucketOf[ClassTelemetry])}
		for _, sp := range spans {
			for n := sp.From; n >= sp.From && n <= sp.To; n++ {
				k := seqKey(n)
				if v := sent.Get(k); v != nil {
					if r, err := decodeRecord(append([]byte(nil), v...)); err == nil {
						found = append(found, entry{seq: n, rec: r})
						continue
					}
				}
				if waiting[0].Get(k) != nil || waiting[1].Get(k) != nil {
					pending++
					continue
				}
				if l := len(gone); l > 0 && gone[l-1].To == n-1 {
					gone[l-1].To = n
				} else {
					gone = append(gone, wire.SeqSpan{From: n, To: n})
				}
			}
		}
		return nil
	})
	return found, pending, gone, err
}

// payload rebuilds the wire message of a stored record.
func (ob *outbox) payload(e entry) ([]byte, error) {
	ob.mu.Lock()
	boot := ob.boots[e.rec.boot]
	ob.mu.Unlock()
	if boot == "" {
		boot = "unknown"
	}
	return ob.headers.payload(boot, e.seq, &e.rec)
}

// OutboxStats describes what the outbox holds.
type OutboxStats struct {
	Events, Telemetry int               // records waiting, by class
	Bytes             int64             // the outbox's own accounting of live records
	Oldest            time.Time         // header time of the oldest waiting record
	Dropped           map[string]uint64 // evicted records by class, since the file was created
	// CollapsedSamples counts samples taken out of telemetry records that
	// stayed, superseded by a later value when the outbox was full.
	CollapsedSamples uint64
	Incidents        []string // e.g. a corrupt file moved aside
	LastSeq          uint64   // the last sequence number handed out
	// Sent counts the events kept after their PUBACK, for the hub to ask
	// for again (Uplink.Resend).
	Sent int
}

// next is the lowest sequence number not yet acknowledged: the oldest
// record waiting, or the one after the last handed out (wire.Status.Next).
func (ob *outbox) next() uint64 {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	n := ob.st.lastSeq + 1
	for _, cs := range ob.st.class {
		if cs.Count > 0 && cs.First < n {
			n = cs.First
		}
	}
	return n
}

func (ob *outbox) stats() OutboxStats {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return statsOf(ob.st)
}

func (ob *outbox) classStats(c Class) classState {
	ob.mu.Lock()
	defer ob.mu.Unlock()
	return *ob.st.class[c]
}

func statsOf(st *outboxState) OutboxStats {
	s := OutboxStats{Dropped: map[string]uint64{}, CollapsedSamples: st.collapsed, LastSeq: st.lastSeq, Incidents: append([]string(nil), st.incidents...), Sent: st.sent}
	for _, cs := range st.class {
		s.Bytes += cs.Bytes
		if !cs.Oldest.IsZero() && (s.Oldest.IsZero() || cs.Oldest.Before(s.Oldest)) {
			s.Oldest = cs.Oldest
		}
	}
	s.Events, s.Telemetry = st.class[ClassEvent].Count, st.class[ClassTelemetry].Count
	for c, n := range st.dropped {
		s.Dropped[c.String()] = n
	}
	return s
}

// messageBody validates and encodes m, whose header the caller filled (a
// boot id and sequence number 1 stand in for the real ones), and returns
// the body a record keeps: the message without its header fields.
func (ob *outbox) messageBody(m wire.Message) ([]byte, error) {
	h := m.Head()
	// The message is encoded into a reused buffer and only its body, a
	// fresh slice of the exact size, outlives the call: one allocation an
	// append instead of the whole payload's.
	bp := encodeBufs.Get().(*[]byte)
	defer encodeBufs.Put(bp)
	full, err := wire.AppendEncode((*bp)[:0], m)
	if cap(full) <= 64<<10 {
		*bp = full // keep a grown buffer, but not a huge one
	}
	if err != nil {
		return nil, fmt.Errorf("uplink: %w", err)
	}
	if len(full) > wire.MaxPayload {
		return nil, fmt.Errorf("uplink: %s of %d bytes is larger than the %d bytes a message may have", h.Type, len(full), wire.MaxPayload)
	}
	if t := ob.headers.get(h.Type, h.Boot); t != nil {
		if body, ok := t.cutBody(full); ok {
			return bytes.Clone(body), nil
		}
	}
	return splitBody(full, h) // splitBody copies
}

// encodeBufs holds the buffers messageBody encodes into.
var encodeBufs = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
