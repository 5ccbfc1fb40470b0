package transport

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
)

// UUCP lock files are how Linux serial programs (minicom, RXTX-based Java
// POS applications, lockdev users) tell each other that a port is taken:
// LCK..ttyS0 in /var/lock (often a link to /run/lock) holds the pid of the
// process that has the port, in the HDB form "%10d\n" or, from older
// programs, as a 4-byte binary integer. A lock whose pid is gone is stale
// and means nothing.

// LockDirs are the directories searched for lock files, in order. Tests
// point them at a temporary directory.
var LockDirs = []string{"/var/lock", "/run/lock"}

// errLockFormat says a lock file's content is neither form.
var errLockFormat = errors.New("not a UUCP lock file")

// ParseLockPID reads the pid in a lock file's content.
func ParseLockPID(b []byte) (int, error) {
	if len(b) == 0 {
		return 0, fmt.Errorf("%w: empty", errLockFormat)
	}
	if len(b) > 64 {
		return 0, fmt.Errorf("%w: %d bytes", errLockFormat, len(b))
	}
	text := strings.TrimSpace(string(b))
	if n, err := strconv.Atoi(text); err == nil {
		if n <= 0 {
			return 0, fmt.Errorf("%w: pid %d", errLockFormat, n)
		}
		return n, nil
	}
	if len(b) == 4 {
		// Binary: the writer's native byte order, little-endian on every
		// machine a store PC is.
		n := int(uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24)
		if n > 0 && n < 1<<22 {
			return n, nil
		}
	}
	return 0, fmt.Errorf("%w: %q", errLockFormat, b)
}

// FormatLockPID writes the HDB form, "%10d\n".
func FormatLockPID(pid int) []byte { return fmt.Appendf(nil, "%10d\n", pid) }

// lockNames returns the lock file names a program may have used for the
// device at path: LCK..ttyS0 (the base name), LCK..pts_3 for devices in a
// subdirectory of /dev (lockdev's form; a bare "3" would be ambiguous), and
// the SVR4 form LCK.MMM.mmm from the device numbers when they are known.
func lockNames(path string, major, minor uint32, haveNumbers bool) []string {
	names := []string{"LCK.." + filepath.Base(path)}
	if rel, ok := strings.CutPrefix(path, "/dev/"); ok && strings.Contains(rel, "/") {
		names = append(names, "LCK.."+strings.ReplaceAll(rel, "/", "_"))
	}
	if haveNumbers {
		names = append(names, fmt.Sprintf("LCK.%03d.%03d", major, minor))
	}
	return names
}
