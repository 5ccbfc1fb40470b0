package transport

import (
	"context"
	"sync"
)

// Locks serialises use of shared resources (a serial port, a TCP endpoint):
// a poll and a remote query, or two devices behind one port, never interleave
// their bytes. The zero value is ready to use.
type Locks struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

// Acquire waits for the resource or for ctx to end. The returned function
// releases it and must be called exactly once.
func (l *Locks) Acquire(ctx context.Context, resource string) (release func(), err error) {
	l.mu.Lock()
	if l.m == nil {
		l.m = map[string]chan struct{}{}
	}
	ch, ok := l.m[resource]
	if !ok {
		ch = make(chan struct{}, 1)
		l.m[resource] = ch
	}
	l.mu.Unlock()
	select {
	case ch <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-ch }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
