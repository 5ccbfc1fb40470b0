package helpdesk

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Records is where the outbox keeps what it must not lose: a record per
// ticket, the queue of calls and the dead letters. A bbolt file by default
// (OpenBoltRecords at Outbox.Path); the hub's PostgreSQL store when the hub
// runs on one (Options.Records).
type Records interface {
	// Update runs fn in one read-write transaction: all of it is stored,
	// or none.
	Update(fn func(RecordsTx) error) error
	// View runs fn in one read-only transaction.
	View(fn func(RecordsTx) error) error
	Close() error
}

// RecordsTx is one transaction's view of the records.
type RecordsTx interface {
	Tickets() Table[string, TicketInfo] // by ticket key (incident key#occurrence)
	Calls() Table[uint64, QueuedCall]   // by sequence number, oldest first
	Dead() Table[uint64, DeadLetter]    // by the sequence number the call had
	// NextCallSeq hands out the next call's sequence number.
	NextCallSeq() (uint64, error)
}

// Table is one kind of record, by key.
type Table[K comparable, V any] interface {
	Get(key K) (*V, error) // nil when there is none
	Put(key K, v *V) error
	Delete(key K) error
	Each(fn func(V) error) error // in key order
}

// QueuedCall is a call waiting in the outbox.
type QueuedCall struct {
	Seq          uint64    `json:"seq"`
	Ticket       string    `json:"ticket"`
	Notification Delivery  `json:"notification"`
	Enqueued     time.Time `json:"enqueued"`
	Attempts     int       `json:"attempts,omitempty"`
	Next         time.Time `json:"next"`
	LastError    string    `json:"last_error,omitempty"`
}

var (
	bucketCalls   = []byte("calls")   // seq → QueuedCall: the queue
	bucketTickets = []byte("tickets") // ticket key → TicketInfo
	bucketDead    = []byte("dead")    // seq → DeadLetter
)

// OpenBoltRecords opens (or creates) the outbox's bbolt file.
func OpenBoltRecords(path string) (Records, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout: time.Second, NoFreelistSync: true, FreelistType: bolt.FreelistMapType,
	})
	if err != nil {
		return nil, err
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCalls, bucketTickets, bucketDead} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, err
	}
	return boltRecords{db}, nil
}

type boltRecords struct{ db *bolt.DB }

func (r boltRecords) Update(fn func(RecordsTx) error) error {
	return r.db.Update(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (r boltRecords) View(fn func(RecordsTx) error) error {
	return r.db.View(func(tx *bolt.Tx) error { return fn(boltTx{tx}) })
}

func (r boltRecords) Close() error { return r.db.Close() }

type boltTx struct{ tx *bolt.Tx }

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }

func (t boltTx) Tickets() Table[string, TicketInfo] {
	return boltTable[string, TicketInfo]{t.tx.Bucket(bucketTickets), func(k string) []byte { return []byte(k) }}
}

func (t boltTx) Calls() Table[uint64, QueuedCall] {
	return boltTable[uint64, QueuedCall]{t.tx.Bucket(bucketCalls), seqKey}
}

func (t boltTx) Dead() Table[uint64, DeadLetter] {
	return boltTable[uint64, DeadLetter]{t.tx.Bucket(bucketDead), seqKey}
}

func (t boltTx) NextCallSeq() (uint64, error) { return t.tx.Bucket(bucketCalls).NextSequence() }

// boltTable keeps records as JSON under their encoded key.
type boltTable[K comparable, V any] struct {
	b   *bolt.Bucket
	key func(K) []byte
}

func (t boltTable[K, V]) Get(k K) (*V, error) {
	v := t.b.Get(t.key(k))
	if v == nil {
		return nil, nil
	}
	var out V
	if err := json.Unmarshal(v, &out); err != nil {
		return nil, fmt.Errorf("record %q: %w", t.key(k), err)
	}
	return &out, nil
}

func (t boltTable[K, V]) Put(k K, v *V) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return t.b.Put(t.key(k), data)
}

func (t boltTable[K, V]) Delete(k K) error { return t.b.Delete(t.key(k)) }

func (t boltTable[K, V]) Each(fn func(V) error) error {
	return t.b.ForEach(func(k, v []byte) error {
		var x V
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("record %x: %w", k, err)
		}
		return fn(x)
	})
}
