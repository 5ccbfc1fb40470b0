package transport

import (
	"context"
	"sync"
)

// Tapper is a serial line the agent shares with the POS application
// through a tap (drivers/transport/tap): the tap owns the port, and a
// driver's exchange is a session the tap fits into the line's idle gaps.
type Tapper interface {
	// Session waits for an idle gap and returns a connection that holds
	// the line until it is closed. A line that never falls idle before
	// ctx ends gives a BusyError.
	Session(ctx context.Context) (Conn, error)
}

// Overhearer is implemented by a tap session: the bytes the device sent to
// the POS application since the last call (ESC/POS automatic status back,
// a scale's weight stream), for drivers that read unsolicited status.
type Overhearer interface {
	Overheard() []byte
}

var taps sync.Map // Address.Resource() → Tapper

// RegisterTap routes Dial for the resource (a serial port) to the tap, and
// returns the function that undoes it.
func RegisterTap(resource string, t Tapper) (unregister func()) {
	taps.Store(resource, t)
	return func() { taps.CompareAndDelete(resource, t) }
}

func tapFor(a Address) (Tapper, bool) {
	t, ok := taps.Load(a.Resource())
	if !ok {
		return nil, false
	}
	return t.(Tapper), true
}

// Overheard returns what the device at a sent the POS application since the
// last call, when a's port is shared through a tap that keeps it; nil
// otherwise. Drivers read it as health the device gave without being asked
// (ESC/POS automatic status back, a scale's weight stream).
func Overheard(a Address) []byte {
	t, ok := tapFor(a)
	if !ok {
		return nil
	}
	if o, ok := t.(Overhearer); ok {
		return o.Overheard()
	}
	return nil
}
