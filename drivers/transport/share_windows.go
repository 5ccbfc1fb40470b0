package transport

import (
	"errors"

	"golang.org/x/sys/windows"
)

// Windows has no lock files: a COM port is opened by one program at a time,
// and the second open fails with access denied (or a sharing violation for
// some virtual port drivers). Nothing says who holds it.
func portUser(path string) (*BusyError, string, error) { return nil, path, nil }

func takeLock(string) (func(), error) { return func() {}, nil }

// shareAfterOpen has nothing to undo: the port is shared as far as Windows
// allows (not at all), and the agent holds it only for one probe.
func shareAfterOpen(string) error { return nil }

func busyOpenError(path string, err error) *BusyError {
	switch {
	case errors.Is(err, windows.ERROR_SHARING_VIOLATION):
		return &BusyError{Resource: path, How: "sharing violation: another program has the port open"}
	case errors.Is(err, windows.ERROR_ACCESS_DENIED), isLibBusy(err):
		return &BusyError{Resource: path, How: "access denied: another program has the port open"}
	}
	return nil
}
