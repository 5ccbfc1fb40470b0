package incident

import "time"

// Catching up: an engine that has just taken stores over (a partition of a
// hub replica that died or gave it up) restores their state from the
// ticket store, while the broker still holds what the stores sent since
// the last owner stopped. Deciding before that backlog is applied would
// open tickets for faults whose recovery is still queued behind them, and
// miss ones that are really there; so until the broker has delivered it
// the engine applies every message and decides nothing, and then decides
// every alert on what it heard.

// Listen makes the engine hold its decisions about alerts (opening and
// resolving incidents) until Heard, or until until at the latest: a broker that
// never says it delivered its backlog must not keep the stores without
// tickets for ever.
func (e *Engine) Listen(until time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.listenUntil = until
}

// Heard ends Listen: the broker has delivered everything it held when the
// engine started to listen, and every alert is decided again at the next
// tick. It reports whether the engine was listening.
func (e *Engine) Heard() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.stopListening()
}

// Listening reports whether the engine is holding its decisions.
func (e *Engine) Listening() bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return !e.listenUntil.IsZero()
}

func (e *Engine) stopListening() bool {
	if e.listenUntil.IsZero() {
		return false
	}
	e.listenUntil, e.recheck = time.Time{}, true
	return true
}

// tickListen ends a Listen whose limit has come.
func (e *Engine) tickListen(now time.Time) {
	if !e.listenUntil.IsZero() && !now.Before(e.listenUntil) {
		e.stopListening()
	}
}
