package uplink

import (
	"bytes"
	"encoding/json"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/storewatch/storewatch/wire"
)

// Collapsing: when the outbox is over its byte budget, telemetry is first
// reduced to the latest value of each measurement (device and name) and
// the latest heartbeat, before anything is evicted oldest first. A long
// outage then costs the hub the history of its samples, not their current
// values. A metrics record keeps its sequence number and time with the
// samples it still has; one left with nothing is deleted and counted as a
// dropped telemetry record, like an evicted one (the hub sees its number
// missing); the samples taken out of records that stay are counted apart.
//
// Reading and rewriting every telemetry record is not cheap, so it runs
// again only once at least half of the telemetry waiting is new since the
// last time: amortised, each record is looked at a few times at most.

// collapseDue says whether collapsing is worth trying now.
func (ob *outbox) collapseDue(cs *classState) bool {
	return cs.Count > 1 && ob.sinceCollapse*2 >= cs.Count
}

type collapseChange struct {
	key   []byte
	value []byte // nil: delete
}

// collapseTelemetry collapses the telemetry bucket b and returns the bytes
// freed. st is the transaction's copy of the state.
func (ob *outbox) collapseTelemetry(b *bolt.Bucket, st *outboxState) (int64, error) {
	ob.sinceCollapse = 0
	seen := map[string]bool{}
	heartbeat := false
	var changes []collapseChange
	var removed uint64
	cur := b.Cursor()
	// Newest first: the first value met for a measurement is its latest.
	for k, v := cur.Last(); k != nil; k, v = cur.Prev() {
		r, err := decodeRecord(v)
		if err != nil || r.typ != wire.TypeMetrics {
			continue
		}
		var m wire.Metrics
		if !decodeStrict(r.body, &m) {
			continue // not a body this build wrote: leave it as it is
		}
		kept := make([]wire.Sample, 0, len(m.Samples))
		for i := len(m.Samples) - 1; i >= 0; i-- {
			s := m.Samples[i]
			id := s.Device + "\x00" + s.Name
			if !seen[id] {
				seen[id] = true
				kept = append(kept, s)
			}
		}
		dropHeartbeat := m.Heartbeat != nil && heartbeat
		heartbeat = heartbeat || m.Heartbeat != nil
		if len(kept) == len(m.Samples) && !dropHeartbeat {
			continue
		}
		removed += uint64(len(m.Samples) - len(kept))
		key := append([]byte(nil), k...)
		if len(kept) == 0 && (m.Heartbeat == nil || dropHeartbeat) {
			changes = append(changes, collapseChange{key: key})
			continue
		}
		for i, j := 0, len(kept)-1; i < j; i, j = i+1, j-1 {
			kept[i], kept[j] = kept[j], kept[i]
		}
		m.Samples = kept
		if dropHeartbeat {
			m.Heartbeat = nil
		}
		m.Header = wire.Header{AgentID: ob.opt.Agent, Boot: ob.opt.Boot, Seq: 1, Time: time.Unix(0, r.time).UTC()}
		body, err := ob.messageBody(&m)
		if err != nil {
			continue // cannot happen for what decoded strictly; keep the record
		}
		r.body = body
		changes = append(changes, collapseChange{key: key, value: r.encode()})
	}
	// Applied after the walk: changing a bucket under a cursor moves it.
	var freed int64
	cs := st.class[ClassTelemetry]
	for _, c := range changes {
		old := recordCost(len(b.Get(c.key)))
		if c.value == nil {
			if err := b.Delete(c.key); err != nil {
				return freed, err
			}
			cs.Count--
			st.dropped[ClassTelemetry]++
			freed += old
		} else {
			if err := b.Put(c.key, c.value); err != nil {
				return freed, err
			}
			freed += old - recordCost(len(c.value))
		}
	}
	cs.Bytes -= freed
	st.collapsed += removed
	if len(changes) > 0 {
		ob.log.Info("outbox full: telemetry collapsed to the latest value per measurement",
			"records_rewritten_or_deleted", len(changes), "samples_removed", removed, "bytes_freed", freed)
	}
	return freed, nil
}

// decodeStrict decodes a stored body into m, refusing fields m does not
// have (a record rewritten from a lenient decode would lose them).
func decodeStrict(body []byte, m any) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(m); err != nil {
		return false
	}
	return !dec.More()
}
