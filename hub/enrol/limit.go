package enrol

import (
	"net"
	"sync"
	"time"
)

// Defaults of the limit on refused enrolments.
const (
	// DefaultRefusalsPerWindow refused attempts from one address within
	// DefaultRefusalWindow make the hub refuse that address's further
	// attempts, good tokens included, until the window has passed.
	DefaultRefusalsPerWindow = 10
	DefaultRefusalWindow     = time.Minute
	// maxTracked bounds the addresses remembered: a sweep of many
	// addresses cannot grow the table past it (the oldest are forgotten).
	maxTracked = 4096
)

// refusalLimit counts refused enrolments per remote address, so that
// guessing tokens from one address stops after a few tries. A store PC
// that mistyped a token retries after the window; the pending enrolment
// of an installer retries by itself.
type refusalLimit struct {
	max    int
	window time.Duration

	mu    sync.Mutex
	addrs map[string]*refusals
}

type refusals struct {
	since time.Time // start of the window
	n     int
}

func newRefusalLimit(max int, window time.Duration) *refusalLimit {
	if max <= 0 {
		max = DefaultRefusalsPerWindow
	}
	if window <= 0 {
		window = DefaultRefusalWindow
	}
	return &refusalLimit{max: max, window: window, addrs: map[string]*refusals{}}
}

// host is the address without its port: one PC retries from new ports.
func host(remote string) string {
	if h, _, err := net.SplitHostPort(remote); err == nil {
		return h
	}
	return remote
}

// blocked reports whether remote is over its limit at now, and for how
// much longer.
func (l *refusalLimit) blocked(remote string, now time.Time) (bool, time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	r := l.addrs[host(remote)]
	if r == nil || now.Sub(r.since) >= l.window {
		return false, 0
	}
	if r.n < l.max {
		return false, 0
	}
	return true, r.since.Add(l.window).Sub(now)
}

// refused counts one refused attempt of remote at now.
func (l *refusalLimit) refused(remote string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h := host(remote)
	r := l.addrs[h]
	if r == nil || now.Sub(r.since) >= l.window {
		if r == nil && len(l.addrs) >= maxTracked {
			l.forget(now)
		}
		l.addrs[h] = &refusals{since: now, n: 1}
		return
	}
	r.n++
}

// forget drops the addresses whose window has passed, or, if none has,
// the one whose window started first.
func (l *refusalLimit) forget(now time.Time) {
	var oldest string
	for h, r := range l.addrs {
		if now.Sub(r.since) >= l.window {
			delete(l.addrs, h)
			continue
		}
		if oldest == "" || r.since.Before(l.addrs[oldest].since) {
			oldest = h
		}
	}
	if len(l.addrs) >= maxTracked && oldest != "" {
		delete(l.addrs, oldest)
	}
}
