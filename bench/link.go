package bench

import (
	"io"
	"net"
	"sync"
)

// Link is a store's WAN link to the broker: a TCP relay on a loopback port
// that can be cut and restored. A cut drops both sides of every connection
// at once (the agent sees its connection fail, the broker sees the client
// gone and publishes its will) and refuses new ones until Restore.
type Link struct {
	Addr   string
	target string
	ln     net.Listener
	wg     sync.WaitGroup

	mu    sync.Mutex
	down  bool
	conns map[net.Conn]bool
}

// NewLink relays a loopback port to target (host:port).
func NewLink(target string) (*Link, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	l := &Link{Addr: ln.Addr().String(), target: target, ln: ln, conns: map[net.Conn]bool{}}
	l.wg.Add(1)
	go l.accept()
	return l, nil
}

func (l *Link) accept() {
	defer l.wg.Done()
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		down := l.down
		l.mu.Unlock()
		if down {
			c.Close()
			continue
		}
		l.wg.Add(1)
		go l.relay(c)
	}
}

func (l *Link) relay(c net.Conn) {
	defer l.wg.Done()
	up, err := net.Dial("tcp", l.target)
	if err != nil {
		c.Close()
		return
	}
	if !l.track(c, up) {
		c.Close()
		up.Close()
		return
	}
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
	l.mu.Lock()
	delete(l.conns, c)
	delete(l.conns, up)
	l.mu.Unlock()
}

func (l *Link) track(cs ...net.Conn) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.down {
		return false
	}
	for _, c := range cs {
		l.conns[c] = true
	}
	return true
}

// Cut drops every connection and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.down = true
	for c := range l.conns {
		c.Close()
	}
}

// Restore lets connections through again.
func (l *Link) Restore() {
	l.mu.Lock()
	l.down = false
	l.mu.Unlock()
}

// Close stops the relay and drops its connections.
func (l *Link) Close() {
	l.ln.Close()
	l.Cut()
	l.wg.Wait()
}
