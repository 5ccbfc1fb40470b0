package incident

import (
	"fmt"

	"github.com/storewatch/storewatch/wire"
)

// Maintenance windows: nothing opens for what one covers while it lasts,
// nor during the grace after it.

// recheckWindow rechecks the store a maintenance window is for.
func (e *Engine) recheckWindow(w Window) {
	if s := e.stores[w.Tenant+"/"+w.Store]; s != nil {
		e.recheckStore(s)
	}
}

// AddWindow records a maintenance window; it gets an id if it has none.
func (e *Engine) AddWindow(w Window) (Window, Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if err := wire.ValidateSegment(w.Tenant); err != nil {
		return w, Changes{}, fmt.Errorf("window tenant: %v: %w", err, ErrBadInput)
	}
	if err := wire.ValidateSegment(w.Store); err != nil {
		return w, Changes{}, fmt.Errorf("window store: %v: %w", err, ErrBadInput)
	}
	if w.Device != "" {
		if err := wire.ValidateSegment(w.Device); err != nil {
			return w, Changes{}, fmt.Errorf("window device: %v: %w", err, ErrBadInput)
		}
	}
	if w.Start.IsZero() || !w.End.After(w.Start) {
		return w, Changes{}, fmt.Errorf("window: end must be after start: %w", ErrBadInput)
	}
	if w.ID == "" {
		e.lastWin++
		w.ID = fmt.Sprintf("MW-%d-%d", e.clk.Now().Unix(), e.lastWin)
	}
	if old, ok := e.windows[w.ID]; ok {
		e.recheckWindow(old) // replaced: it may have been another store's
	}
	e.windows[w.ID] = w
	e.recheckWindow(w)
	e.ch.Windows = append(e.ch.Windows, w)
	return w, e.take(), nil
}

// DeleteWindow removes a maintenance window.
func (e *Engine) DeleteWindow(id string) (Changes, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.windows[id]
	if !ok {
		return Changes{}, fmt.Errorf("window %s: %w", id, ErrNotFound)
	}
	delete(e.windows, id)
	e.recheckWindow(w)
	e.ch.DeleteWindows = append(e.ch.DeleteWindows, id)
	return e.take(), nil
}
