package broker

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// TestAdmissionHoldsReadsWhileIngestIsFull: with as many messages pending
// as admission allows, what a connection's read got is held back; one
// message done lets it through, and closing the connection ends a read
// waiting for admission.
func TestAdmissionHoldsReadsWhileIngestIsFull(t *testing.T) {
	a := newAdmission(2)
	agentSide, c := pipeConn(t, a)
	a.handed(nil)
	a.handed(nil)

	read := make(chan error, 1)
	go func() {
		buf := make([]byte, 8)
		n, err := c.Read(buf)
		if err == nil && string(buf[:n]) != string(packet("next")) {
			err = fmt.Errorf("read %q", buf[:n])
		}
		read <- err
	}()
	go agentSide.Write(packet("next")) // net.Pipe: waits for the read
	select {
	case err := <-read:
		t.Fatalf("the read returned (err %v) with ingest full", err)
	case <-time.After(100 * time.Millisecond):
	}
	a.done()
	if err := within(t, read, "a message done did not let the waiting read through"); err != nil {
		t.Fatal(err)
	}

	a.handed(c) // it hands a message over, in the place it was let in with: full again
	go func() {
		_, err := c.Read(make([]byte, 8))
		read <- err
	}()
	go agentSide.Write(packet("more"))
	waitQueued(t, a, 1)
	c.Close()
	if err := within(t, read, "closing the connection did not end the read waiting for admission"); !errors.Is(err, net.ErrClosed) {
		t.Fatalf("a read waiting on a closed connection returned %v, want net.ErrClosed", err)
	}
}

// TestAdmissionLetsReadersInInTurn: readers waiting for admission are let
// in oldest first, one per message done, each with a place for the
// message it hands over; a reader let in that hands nothing over gives
// its place back at its next read.
func TestAdmissionLetsReadersInInTurn(t *testing.T) {
	a := newAdmission(1)
	a.handed(nil) // full
	reads := make(chan string, 3)
	var conns []*admittedConn
	for _, name := range []string{"first", "second", "third"} {
		agentSide, c := pipeConn(t, a)
		conns = append(conns, c)
		go func() {
			buf := make([]byte, 16)
			n, err := c.Read(buf)
			if err != nil {
				reads <- err.Error()
				return
			}
			reads <- string(buf[2:n]) // the packet's body
		}()
		go agentSide.Write(packet(name))
		waitQueued(t, a, len(conns)) // so that they queue in this order
	}
	a.done() // room for one: the first
	if got := <-reads; got != "first" {
		t.Fatalf("let in %q, want the first reader", got)
	}
	a.handed(conns[0]) // it used its place: full
	a.done()
	if got := <-reads; got != "second" {
		t.Fatalf("let in %q, want the second reader", got)
	}
	// The second hands nothing over (a partial packet) and reads again:
	// its place goes back before the read, and the third gets it.
	go conns[1].Read(make([]byte, 16))
	if got := <-reads; got != "third" {
		t.Fatalf("let in %q, want the third reader, after the second gave its place back", got)
	}
}

// waitQueued waits until n readers wait for admission.
func waitQueued(t *testing.T, a *admission, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		a.mu.Lock()
		q := len(a.queue)
		a.mu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d readers wait for admission, want %d", q, n)
		}
	}
}

// TestAdmissionIdleConnectionsHoldNoPlace: a reader waiting for its agent
// to send takes no place, however many there are; only a read with data
// waits for admission (else agents with nothing more to send held every
// place, and a 10,000-store burst stopped half way).
func TestAdmissionIdleConnectionsHoldNoPlace(t *testing.T) {
	a := newAdmission(1)
	_, idle := pipeConn(t, a)
	go idle.Read(make([]byte, 8)) // its agent sends nothing
	time.Sleep(50 * time.Millisecond)

	agentSide, busy := pipeConn(t, a)
	go agentSide.Write(packet("event"))
	read := make(chan error, 1)
	go func() {
		_, err := busy.Read(make([]byte, 8))
		read <- err
	}()
	if err := within(t, read, "an agent's message waited for a place held by an idle connection"); err != nil {
		t.Fatal(err)
	}
}

// packet is an MQTT packet with body (a PUBLISH's type byte; bodies
// under 128 bytes).
func packet(body string) []byte { return append([]byte{0x30, byte(len(body))}, body...) }

// TestAdmissionReadsTheRestOfAPacketAtOnce: a read that goes on with a
// packet (mochi's buffer cut it) does not wait for admission, full or
// not: the reader was let in for that packet.
func TestAdmissionReadsTheRestOfAPacketAtOnce(t *testing.T) {
	a := newAdmission(1)
	agentSide, c := pipeConn(t, a)
	p := packet("a publish cut in two")
	go agentSide.Write(p)
	head := make([]byte, 5)
	if _, err := io.ReadFull(c, head); err != nil {
		t.Fatal(err)
	}
	a.handed(nil) // full (another agent's message)
	rest := make([]byte, len(p)-len(head))
	read := make(chan error, 1)
	go func() {
		_, err := io.ReadFull(c, rest)
		read <- err
	}()
	if err := within(t, read, "the rest of a packet waited for admission"); err != nil {
		t.Fatal(err)
	}
	if got := append(head, rest...); !bytes.Equal(got, p) {
		t.Fatalf("read %q, want %q", got, p)
	}
}

// FuzzMQTTFrames: however a stream of bytes is cut into reads, mqttFrames
// says a read begins a packet exactly where a plain decoding of the whole
// stream finds one.
func FuzzMQTTFrames(f *testing.F) {
	f.Add([]byte{0x30, 0x02, 'h', 'i', 0xc0, 0x00, 0x30, 0x80, 0x01}, []byte{1, 3, 2})
	f.Add(append([]byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x7f}, packet("x")...), []byte{4})
	f.Fuzz(func(t *testing.T, stream, cuts []byte) {
		starts := map[int]bool{}
		for _, i := range packetStarts(stream) {
			starts[i] = true
		}
		var fr mqttFrames
		for i, pos := 0, 0; pos < len(stream); i++ {
			n := 1
			if len(cuts) > 0 {
				n = int(cuts[i%len(cuts)])%7 + 1
			}
			n = min(n, len(stream)-pos)
			if fr.atStart() != starts[pos] {
				t.Fatalf("a read at byte %d: begins a packet %v, want %v (packets begin at %v)", pos, fr.atStart(), starts[pos], packetStarts(stream))
			}
			fr.follow(stream[pos : pos+n])
			pos += n
		}
	})
}

// packetStarts decodes a whole stream of MQTT packets (fixed header, at
// most four length bytes; a fifth starts over) and returns where each
// begins.
func packetStarts(b []byte) []int {
	var starts []int
	for i := 0; i < len(b); {
		starts = append(starts, i)
		i++
		length, k := 0, 0
		for ; i < len(b) && k < 4; k++ {
			c := b[i]
			i++
			length |= int(c&0x7f) << (7 * k)
			if c&0x80 == 0 {
				break
			}
		}
		if k == 4 { // malformed: starts over at the next byte
			continue
		}
		i += length
	}
	return starts
}

// pipeConn is a connection under admission a and the agent's end of it;
// both are closed when the test ends.
func pipeConn(t *testing.T, a *admission) (agent net.Conn, c *admittedConn) {
	agent, broker := net.Pipe()
	c = newAdmittedConn(broker, a)
	t.Cleanup(func() {
		c.Close()
		agent.Close()
	})
	return agent, c
}

// within returns what a goroutine sends on ch, failing the test with
// msg if nothing comes within 10 s.
func within(t *testing.T, ch <-chan error, msg string) error {
	t.Helper()
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
		return nil
	}
}
