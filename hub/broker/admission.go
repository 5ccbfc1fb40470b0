package broker

import (
	"context"
	"net"
	"slices"
	"sync"
)

// embeddedInFlight bounds the agents' messages that the embedded broker
// has handed to ingest and not yet seen committed, as an External's
// inFlight does for one broker connection: enough for ingest to fill its
// batches (ingest.MaxBatch, two commits in flight).
const embeddedInFlight = 4096

// admission holds the embedded broker's agents back while ingest has
// embeddedInFlight of their messages: what a connection's read got is
// not given to mochi until some are committed. It waits inside the
// connection's read, where mochi's reader goroutine is shallow (about
// 5 KiB of stack in use), and not in the publish hook, where it is some
// 15 KiB deep: a reader parked there keeps a 32 KiB stack, and in a burst
// every agent's reader would park there at once (hook.handOver).
//
// Readers are let in first come, first served: one let in takes a place
// for the first message it hands over, and the next reader waits its turn
// even if a place is free the moment it comes, as long as others wait
// before it. Letting whoever comes first through (a readers' free-for-all
// on a condition variable, tried first) left some agents unread for over
// 15 s in a 10,000-store burst while others went on, and their agents
// warned that the broker was slow to acknowledge. A reader waits for its
// turn only once its read has data: waiting before the read, readers let
// in sat on their places in reads of agents with nothing more to send,
// and took every place. And it waits only for a read that begins a
// packet: the rest of a packet that mochi's 1 KiB buffer cut (mochi reads
// it from its ReadPacket frame, 8.5 KiB deep) is read at once; waiting
// there kept the readers' stacks at 32 KiB through a burst.
type admission struct {
	max     int
	mu      sync.Mutex
	pending int             // messages handed to ingest and not yet done, and places taken by readers let in
	queue   []*admittedConn // readers waiting, oldest first
}

func newAdmission(limit int) *admission { return &admission{max: limit} }

// enter returns once what c's reader read may go to mochi: at once if no
// reader waits and there is room, else when its turn comes; net.ErrClosed
// once c is closed.
func (a *admission) enter(c *admittedConn) error {
	a.mu.Lock()
	if c.shut {
		a.mu.Unlock()
		return net.ErrClosed
	}
	if len(a.queue) == 0 && a.pending < a.max {
		a.pending++
		c.placed = true
		a.mu.Unlock()
		return nil
	}
	c.waiting = true
	a.queue = append(a.queue, c)
	a.mu.Unlock()
	<-c.wake
	a.mu.Lock()
	defer a.mu.Unlock()
	if c.shut {
		return net.ErrClosed
	}
	return nil
}

// letIn lets waiting readers in, oldest first, while there is room, each
// with a place for its first message. a.mu is held.
func (a *admission) letIn() {
	for len(a.queue) > 0 && a.pending < a.max {
		c := a.queue[0]
		a.queue[0] = nil
		a.queue = a.queue[1:]
		c.waiting, c.placed = false, true
		a.pending++
		c.wake <- struct{}{} // never blocks: c waits once at a time
	}
}

// giveBack returns the place c's reader was let in with, if it handed
// nothing over in it (a partial packet): it reads again.
func (a *admission) giveBack(c *admittedConn) {
	a.mu.Lock()
	if c.placed {
		c.placed = false
		a.pending--
		a.letIn()
	}
	a.mu.Unlock()
}

// handed counts a message that c's reader handed to ingest (c nil: a
// connection admission does not see).
func (a *admission) handed(c *admittedConn) {
	a.mu.Lock()
	if c != nil && c.placed {
		c.placed = false
	} else {
		a.pending++
	}
	a.mu.Unlock()
}

// done counts a message done with (committed, rejected or failed) and
// lets the next waiting reader in.
func (a *admission) done() {
	a.mu.Lock()
	a.pending--
	a.letIn()
	a.mu.Unlock()
}

// admittedListener gives the broker connections whose reads wait for
// admission.
type admittedListener struct {
	net.Listener
	a *admission
}

func (l admittedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return newAdmittedConn(c, l.a), nil
}

// admittedConn is an agent's connection as the broker reads it (above
// TLS, if any: it follows the MQTT packets in what it reads).
type admittedConn struct {
	net.Conn
	a      *admission
	wake   chan struct{} // its reader's turn has come, or it was closed
	frames mqttFrames    // where its reads are in the agent's packets (the reader's own)
	// under a.mu:
	waiting bool // its reader is in the queue
	placed  bool // let in with a place for its first message
	shut    bool
}

func newAdmittedConn(c net.Conn, a *admission) *admittedConn {
	return &admittedConn{Conn: c, a: a, wake: make(chan struct{}, 1)}
}

func (c *admittedConn) Read(p []byte) (int, error) {
	if !c.frames.atStart() { // the rest of a packet it was let in for
		n, err := c.Conn.Read(p)
		c.frames.follow(p[:n])
		return n, err
	}
	c.a.giveBack(c)
	n, err := c.Conn.Read(p)
	c.frames.follow(p[:n])
	if n > 0 {
		if aerr := c.a.enter(c); aerr != nil {
			return 0, aerr
		}
	}
	return n, err
}

// mqttFrames follows the MQTT packets in a stream of bytes read, so that
// admittedConn can tell a read that begins a packet from one that goes
// on with one. It decodes only each packet's fixed header (its type byte
// and remaining length, MQTT 3.1.1 section 2.2) and skips the rest. A
// malformed length (a fifth length byte) starts it over at the next
// byte: mochi refuses such a packet and closes the connection anyway.
type mqttFrames struct {
	state  uint8 // frameStart, frameLength or frameBody
	length int   // the remaining length decoded so far, then the body's bytes still to come
	shift  uint
}

const (
	frameStart  = iota // next is a packet's first byte
	frameLength        // in the remaining length
	frameBody          // in the body
)

func (f *mqttFrames) atStart() bool { return f.state == frameStart }

func (f *mqttFrames) follow(b []byte) {
	for len(b) > 0 {
		switch f.state {
		case frameStart:
			f.state, f.length, f.shift = frameLength, 0, 0
			b = b[1:]
		case frameLength:
			c := b[0]
			b = b[1:]
			f.length |= int(c&0x7f) << f.shift
			f.shift += 7
			switch {
			case c&0x80 == 0 && f.length == 0:
				f.state = frameStart
			case c&0x80 == 0:
				f.state = frameBody
			case f.shift >= 28:
				f.state = frameStart
			}
		case frameBody:
			k := min(f.length, len(b))
			f.length -= k
			b = b[k:]
			if f.length == 0 {
				f.state = frameStart
			}
		}
	}
}

// Close ends a wait for admission and gives back the place a reader let
// in has not used.
func (c *admittedConn) Close() error {
	a := c.a
	a.mu.Lock()
	if !c.shut {
		c.shut = true
		if c.waiting {
			a.queue = slices.DeleteFunc(a.queue, func(w *admittedConn) bool { return w == c })
			c.waiting = false
			c.wake <- struct{}{}
		}
		if c.placed {
			c.placed = false
			a.pending--
			a.letIn()
		}
	}
	a.mu.Unlock()
	return c.Conn.Close()
}

// admittedOf returns a broker connection as an admittedConn, or nil.
func admittedOf(c net.Conn) *admittedConn {
	ac, _ := c.(*admittedConn)
	return ac
}

// feeder hands the agents' messages to an AsyncHandler, in the order they
// arrived, from a goroutine of its own: HandleAsync waits while ingest's
// queue is full, and mochi's reader must not wait in its publish hook
// (admission). What waits here is bounded by admission (embeddedInFlight,
// and what the readers admitted just before had already buffered).
type feeder struct {
	h     AsyncHandler
	mu    sync.Mutex
	queue []handoff
	ready chan struct{}
	ended chan struct{}
}

type handoff struct {
	topic, client string
	payload       []byte
	done          func(error)
}

func newFeeder(h AsyncHandler) *feeder {
	return &feeder{h: h, ready: make(chan struct{}, 1), ended: make(chan struct{})}
}

// give queues a message for the handler; done is called as HandleAsync's.
func (f *feeder) give(m handoff) {
	f.mu.Lock()
	f.queue = append(f.queue, m)
	f.mu.Unlock()
	select {
	case f.ready <- struct{}{}:
	default:
	}
}

// run feeds the handler until ctx ends; messages still queued then are
// never acknowledged, and their agents send them again.
func (f *feeder) run(ctx context.Context) {
	defer close(f.ended)
	var batch []handoff
	for {
		select {
		case <-f.ready:
		case <-ctx.Done():
			return
		}
		f.mu.Lock()
		batch, f.queue = f.queue, batch[:0]
		f.mu.Unlock()
		for _, m := range batch {
			f.h.HandleAsync(ctx, m.topic, m.payload, m.client, m.done)
		}
		clear(batch)
	}
}
