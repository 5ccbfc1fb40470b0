package transport

import (
	"errors"
	"fmt"
	"strings"
)

// ErrBusy marks a device or port that is in use by someone else right now:
// another program holds the serial port (a lock file, EBUSY, a Windows
// sharing violation), a single-connection TCP device is serving another
// client, or the device is in a transaction that must not be disturbed. It
// is not a fault: the device is most likely working for the POS application.
var ErrBusy = errors.New("busy")

// Holder is who holds a busy port, as far as the operating system tells.
// Both fields may be empty: a TCP device serving someone else does not say
// who, and a non-root agent cannot see other users' open files.
type Holder struct {
	Process string // program name, e.g. POS.exe or java
	PID     int
}

// String reads "POS.exe (pid 4312)", "pid 4312", "POS.exe" or "".
func (h Holder) String() string {
	switch {
	case h.Process != "" && h.PID > 0:
		return fmt.Sprintf("%s (pid %d)", h.Process, h.PID)
	case h.PID > 0:
		return fmt.Sprintf("pid %d", h.PID)
	}
	return h.Process
}

// BusyError says a resource is in use and, when known, by whom. It matches
// ErrBusy.
type BusyError struct {
	Resource string // the port or endpoint, e.g. /dev/ttyS0 or 10.0.3.21:9100
	Holder   Holder
	// How says how it was found: "lock file /var/lock/LCK..ttyS0",
	// "open: device or resource busy", "no connection accepted within 3s
	// while the host answers on port 80".
	How string
}

func (e *BusyError) Error() string {
	var b strings.Builder
	b.WriteString(e.Resource)
	b.WriteString(" in use")
	if h := e.Holder.String(); h != "" {
		b.WriteString(" by ")
		b.WriteString(h)
	} else {
		b.WriteString(" by another program")
	}
	if e.How != "" {
		b.WriteString(" (")
		b.WriteString(e.How)
		b.WriteString(")")
	}
	return b.String()
}

// Is lets errors.Is(err, ErrBusy) match.
func (e *BusyError) Is(target error) bool { return target == ErrBusy }

// BusyHolder returns the holder named by a busy error anywhere in err's
// chain.
func BusyHolder(err error) (Holder, bool) {
	var be *BusyError
	if errors.As(err, &be) {
		return be.Holder, true
	}
	return Holder{}, false
}
