// Package ptyline opens pseudo-terminals that behave like a serial line:
// raw (no echo, no line editing, no CR/LF translation, 8 bits) and with a
// master the Go poller owns, so Close and deadlines interrupt a Read. The
// device emulators (devsim) and the serial tap (drivers/transport/tap) use
// it.
package ptyline

import (
	"fmt"
	"os"

	"github.com/creack/pty"
)

// Open returns a raw pseudo-terminal: the master, pollable, and the slave,
// whose name (/dev/pts/N) is what a serial program opens.
func Open() (master, slave *os.File, err error) {
	m, s, err := pty.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("open pty: %w", err)
	}
	// The master comes back in blocking mode, where a Read cannot be
	// interrupted by Close. Reopen it non-blocking so Go's poller owns it.
	if m, err = Pollable(m); err != nil {
		s.Close()
		return nil, nil, fmt.Errorf("pty: %w", err)
	}
	if err := MakeRaw(s); err != nil {
		m.Close()
		s.Close()
		return nil, nil, fmt.Errorf("raw pty: %w", err)
	}
	return m, s, nil
}
