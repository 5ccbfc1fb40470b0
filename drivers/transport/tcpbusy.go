package transport

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// A TCP device that serves one client at a time (a receipt printer on port
// 9100 printing for the POS, a payment terminal whose ECR keeps its session
// open) does not accept, refuses, or accepts and ignores a second
// connection. That looks like a dead device, but it is a busy one. The tell
// is the device's other signals: its web interface (or another port the
// address names) still answers. So when the device's port stays silent for
// half the probe's time, the agent tries those ports too; if one accepts, a
// silent or refused port is busy, not a fault.

// DefaultAlivePorts are tried when an address does not name its own
// (tcp://host:9100?alive=80,515; alive=none turns the check off). Port 80
// is the web interface nearly every network printer has.
var DefaultAlivePorts = []int{80}

// AlivePorts reads the address's alive parameter.
func (a Address) AlivePorts() ([]int, error) {
	v, ok := a.Query["alive"]
	if !ok {
		return DefaultAlivePorts, nil
	}
	if len(v) != 1 || v[0] == "" || v[0] == "none" {
		return nil, nil
	}
	var out []int
	for _, p := range strings.Split(v[0], ",") {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("alive %q: want port numbers such as 80,515, or none", v[0])
		}
		out = append(out, n)
	}
	return out, nil
}

// aliveCheck asks the device's other ports, once, whether the host is up.
type aliveCheck struct {
	ctx   context.Context
	host  string
	ports []int
	timer *time.Timer
	once  sync.Once
	done  chan struct{}
	port  int // the port that accepted; 0: none did
}

// newAliveCheck starts the check after d, unless result is asked first.
// Without ports it never runs.
func newAliveCheck(ctx context.Context, host string, ports []int, d time.Duration) *aliveCheck {
	w := &aliveCheck{ctx: ctx, host: host, ports: ports, done: make(chan struct{})}
	if len(ports) > 0 {
		w.timer = time.AfterFunc(d, w.start)
	}
	return w
}

func (w *aliveCheck) start() {
	w.once.Do(func() {
		go func() {
			defer close(w.done)
			w.port = firstAccepting(w.ctx, w.host, w.ports)
		}()
	})
}

// stop cancels a check that has not started.
func (w *aliveCheck) stop() {
	if w.timer != nil {
		w.timer.Stop()
	}
}

// result runs the check if it has not run and returns the port that
// accepted, or 0.
func (w *aliveCheck) result() int {
	if len(w.ports) == 0 {
		return 0
	}
	w.start()
	<-w.done
	return w.port
}

// firstAccepting dials every port at once and returns the first to accept.
// A refusal does not count: only a service that answers says the device's
// own software is up, not just its network chip.
func firstAccepting(ctx context.Context, host string, ports []int) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	got := make(chan int, len(ports))
	var d net.Dialer
	for _, p := range ports {
		go func() {
			c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(host, strconv.Itoa(p)))
			if err != nil {
				got <- 0
				return
			}
			c.Close()
			got <- p
		}()
	}
	for range ports {
		if p := <-got; p > 0 {
			return p
		}
	}
	return 0
}

// half is when the check starts: half of what is left of ctx's time.
func half(ctx context.Context) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		return time.Until(dl) / 2
	}
	return 2 * time.Second
}

func dialTCP(ctx context.Context, a Address, defaultPort int, busyCheck bool) (Conn, error) {
	hp := a.HostPort(defaultPort)
	host, _, _ := net.SplitHostPort(hp)
	ports, err := a.AlivePorts()
	if err != nil {
		return nil, fmt.Errorf("tcp %s: %w", hp, err)
	}
	if !busyCheck {
		ports = nil
	}
	check := newAliveCheck(ctx, host, ports, half(ctx))
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", hp)
	if err != nil {
		if silentOrRefused(err) {
			if p := check.result(); p > 0 {
				how := "no connection accepted before the timeout"
				if errors.Is(err, syscall.ECONNREFUSED) {
					how = "connection refused"
				}
				return nil, &BusyError{Resource: hp, How: fmt.Sprintf("%s while the device answers on port %d: serving another client", how, p)}
			}
		}
		check.stop()
		return nil, fmt.Errorf("tcp %s: %w: %w", hp, ErrUnreachable, err)
	}
	check.stop()
	// The connection is up; if the device then says nothing at all, ask
	// the other ports again before calling it silent.
	return &tcpConn{Conn: c, hp: hp, check: newAliveCheck(ctx, host, ports, half(ctx))}, nil
}

func silentOrRefused(err error) bool {
	var ne net.Error
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, os.ErrDeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout())
}

// tcpConn notices a device that accepted the connection but never sent a
// byte (a printer that queues a second client until its job is done).
type tcpConn struct {
	net.Conn
	hp    string
	check *aliveCheck
	heard atomic.Bool
}

func (c *tcpConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 && !c.heard.Swap(true) {
		c.check.stop()
	}
	// The probe's end may close the connection a moment before the
	// deadline error comes: both mean the time ran out.
	timedOut := errors.Is(err, os.ErrDeadlineExceeded) || (errors.Is(err, net.ErrClosed) && c.check.ctx.Err() != nil)
	if err != nil && !c.heard.Load() && timedOut {
		if port := c.check.result(); port > 0 {
			return n, fmt.Errorf("%w: %w", &BusyError{Resource: c.hp, How: fmt.Sprintf("connected but not a byte answered while the device answers on port %d: serving another client", port)}, err)
		}
	}
	return n, err
}

func (c *tcpConn) Close() error {
	c.check.stop()
	return c.Conn.Close()
}
