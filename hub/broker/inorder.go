package broker

import "sync"

// inOrder holds a connection's messages from their arrival to their
// acknowledgement, so that they are acknowledged in the order they
// arrived, as MQTT 3.1.1 requires ([MQTT-4.6.0-2]): a message whose work
// is done waits for those before it. Both brokers' sides use it: the
// hub's sessions to an external broker (External.receiver), whose
// acknowledgements Mosquitto expects in order, and the embedded broker's
// agents (hook.handOver), each acknowledged once its message is committed.
//
// Order matters beyond the specification: Mosquitto 2.0 looks a PUBACK's
// message up by walking its list of messages in flight from the oldest,
// and moves queued messages into that list by how far down it found it. A
// partition session acknowledges the other partitions' messages at once
// and its own after their commit; acknowledged in that order, a backlog
// of a few hundred thousand messages (a partition taken over at 10,000
// stores) kept Mosquitto at 100 % of a core in that walk (92 % of its
// samples in db__message_delete_outgoing, perf) for over a minute,
// sending next to nothing, until every session's keepalive ran out
// (docs/benchmarks.md). In arrival order each PUBACK is for the oldest
// message.
//
// One taker at a time acknowledges: done says when to start taking, and
// take, finding nothing, ends the turn, so that the queue needs no
// goroutine of its own while nothing is due (the embedded broker has one
// queue per connected agent).
type inOrder[M any] struct {
	mu     sync.Mutex
	queue  []*received[M] // arrived, not yet taken for acknowledgement, oldest first
	taking bool           // a taker's turn: done starts no other
}

// received is one message in an inOrder queue.
type received[M any] struct {
	m        M
	finished bool // its work is done
	ok       bool // and it may be acknowledged (not: the broker delivers it again)
}

// add queues a message as it arrives; the caller calls done for it once.
func (q *inOrder[M]) add(m M) *received[M] {
	r := &received[M]{m: m}
	q.mu.Lock()
	q.queue = append(q.queue, r)
	q.mu.Unlock()
	return r
}

// done marks r's work done: ok, it is acknowledged once every message that
// arrived before it is done; not ok, it is skipped (left for the broker
// to deliver again) and does not hold back those after it. It reports
// whether the caller is to start taking: the head of the queue is done
// and no taker's turn is on.
func (q *inOrder[M]) done(r *received[M], ok bool) (start bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	r.finished, r.ok = true, ok
	if q.taking || !q.queue[0].finished {
		return false
	}
	q.taking = true
	return true
}

// take appends to out the messages at the head of the queue whose work is
// done, in arrival order, and removes them. Finding none, it ends the
// taker's turn: the next done that frees the head starts another.
func (q *inOrder[M]) take(out []*received[M]) []*received[M] {
	q.mu.Lock()
	defer q.mu.Unlock()
	n := 0
	for n < len(q.queue) && q.queue[n].finished {
		n++
	}
	if n == 0 {
		q.taking = false
		return out
	}
	out = append(out, q.queue[:n]...)
	clear(q.queue[:n])
	q.queue = q.queue[n:]
	return out
}
