//go:build !linux

package transport

// openedBy and processName need /proc; elsewhere a port's holder is only
// known from a lock file's pid (unix) or not at all (Windows says "access
// denied" and no more).
func openedBy(string) int { return 0 }

func processName(int) string { return "" }

func heldBy(real string) int { return openedBy(real) }

func ownOpen(string) {}

// lockEntries: without inotify every lock file name is looked up.
func lockEntries(string) (map[string]bool, bool) { return nil, false }

// ReleasePortWatch has nothing to release where there is no port watch.
func ReleasePortWatch() {}
