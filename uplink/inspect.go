package uplink

import (
	"bufio"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/wire"
)

// Library side of `storeagent outbox`: look into an outbox file without
// changing it. The file is opened read-only with a timeout; while the agent
// runs it holds the file's lock and these functions return ErrInUse with a
// message saying so.

// OutboxReport describes an outbox file.
type OutboxReport struct {
	Path      string            `json:"path"`
	FileBytes int64             `json:"file_bytes"`
	Agent     wire.AgentID      `json:"agent"`
	Events    int               `json:"events"`
	Telemetry int               `json:"telemetry"`
	Bytes     int64             `json:"bytes"`           // live records, the outbox's own accounting
	Oldest    time.Time         `json:"oldest,omitzero"` // header time of the oldest record
	OldestSeq uint64            `json:"oldest_seq,omitempty"`
	LastSeq   uint64            `json:"last_seq"`
	Dropped   map[string]uint64 `json:"dropped"`
	// CollapsedSamples counts samples taken out of telemetry records that
	// stayed, superseded by a later value when the outbox was full.
	CollapsedSamples uint64   `json:"collapsed_samples,omitempty"`
	Incidents        []string `json:"incidents,omitempty"`
	// Sent counts the events kept after delivery, for the hub to ask for
	// again (outbox.keep_sent).
	Sent int `json:"sent_kept"`
}

// InspectOutbox reports what the outbox file at path holds.
func InspectOutbox(path string, timeout time.Duration) (*OutboxReport, error) {
	rep := &OutboxReport{Path: path, Dropped: map[string]uint64{}}
	err := viewOutbox(path, timeout, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		if v := meta.Get(keySeq); len(v) == 8 {
			rep.LastSeq = binary.BigEndian.Uint64(v)
		}
		_ = json.Unmarshal(meta.Get(keyAgent), &rep.Agent)
		_ = json.Unmarshal(meta.Get(keyIncidents), &rep.Incidents)
		rep.CollapsedSamples = getUint64(meta, keyCollapsed)
		if b := tx.Bucket(bucketSent); b != nil {
			rep.Sent = b.Stats().KeyN
		}
		for _, c := range classes {
			rep.Dropped[c.String()] = getUint64(meta, keyDropped(c))
			b := tx.Bucket(bucketOf[c])
			if b == nil {
				continue
			}
			n := 0
			err := b.ForEach(func(k, v []byte) error {
				n++
				rep.Bytes += recordCost(len(v))
				if n == 1 {
					if r, err := decodeRecord(v); err == nil {
						t := time.Unix(0, r.time).UTC()
						if rep.Oldest.IsZero() || t.Before(rep.Oldest) {
							rep.Oldest, rep.OldestSeq = t, binary.BigEndian.Uint64(k)
						}
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
			if c == ClassEvent {
				rep.Events = n
			} else {
				rep.Telemetry = n
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(path); err == nil {
		rep.FileBytes = fi.Size()
	}
	return rep, nil
}

// ExportLine is one line of ExportOutbox: a waiting message as it would be
// published.
type ExportLine struct {
	Seq     uint64          `json:"seq"`
	Class   string          `json:"class"`
	Topic   string          `json:"topic"`
	Payload json.RawMessage `json:"payload"`
}

// ExportOutbox writes every waiting message as JSON lines, in sequence
// order, events and telemetry interleaved, for support. Unreadable records
// are written with class "unreadable" and the error as payload string.
func ExportOutbox(path string, w io.Writer, timeout time.Duration) (int, error) {
	bw := bufio.NewWriter(w)
	n := 0
	err := viewOutbox(path, timeout, func(tx *bolt.Tx) error {
		meta := tx.Bucket(bucketMeta)
		var agent wire.AgentID
		_ = json.Unmarshal(meta.Get(keyAgent), &agent)
		boot := func(i uint64) string {
			if v := meta.Get(keyBoot(i)); v != nil {
				return string(v)
			}
			return "unknown"
		}
		headers := headerTemplates{id: agent}
		enc := json.NewEncoder(bw)
		// Merge the two buckets by key so the export reads in seq order.
		type cur struct {
			c    Class
			cur  *bolt.Cursor
			k, v []byte
		}
		var curs []*cur
		for _, c := range classes {
			if b := tx.Bucket(bucketOf[c]); b != nil {
				cc := &cur{c: c, cur: b.Cursor()}
				cc.k, cc.v = cc.cur.First()
				curs = append(curs, cc)
			}
		}
		for {
			var next *cur
			for _, cc := range curs {
				if cc.k != nil && (next == nil || string(cc.k) < string(next.k)) {
					next = cc
				}
			}
			if next == nil {
				return bw.Flush()
			}
			seq := binary.BigEndian.Uint64(next.k)
			line := ExportLine{Seq: seq, Class: next.c.String()}
			r, err := decodeRecord(next.v)
			if err == nil {
				line.Topic = agent.Topic(wire.ChannelOf(r.typ))
				line.Payload, err = headers.payload(boot(r.boot), seq, &r)
			}
			if err != nil || !json.Valid(line.Payload) {
				line.Class = "unreadable"
				line.Payload, _ = json.Marshal(fmt.Sprint(err))
			}
			if err := enc.Encode(line); err != nil {
				return err
			}
			n++
			next.k, next.v = next.cur.Next()
		}
	})
	return n, err
}

func viewOutbox(path string, timeout time.Duration, fn func(*bolt.Tx) error) (err error) {
	if _, err := os.Stat(path); err != nil {
		return fmt.Errorf("outbox: %w", err)
	}
	db, err := openBolt(path, &bolt.Options{Timeout: timeout, ReadOnly: true})
	if err != nil {
		return err
	}
	defer db.Close()
	old := debug.SetPanicOnFault(true)
	defer debug.SetPanicOnFault(old)
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("outbox %s is damaged: %v", path, p)
		}
	}()
	return db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return fmt.Errorf("outbox %s: not an outbox file (no meta bucket)", path)
		}
		if v := tx.Bucket(bucketMeta).Get(keySchema); string(v) != strconv.Itoa(schemaVersion) {
			return fmt.Errorf("outbox %s: schema %q, this build reads %d", path, v, schemaVersion)
		}
		return fn(tx)
	})
}
