//go:build !windows

package transport

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"

	"golang.org/x/sys/unix"
)

// portUser is someone else who has a serial port: a live lock file's owner,
// or a process with the device open.
//
// It also returns the port's real path (links resolved), for ownOpen.
func portUser(path string) (*BusyError, string, error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, "", err
	}
	var st unix.Stat_t
	haveNumbers := unix.Stat(real, &st) == nil && st.Mode&unix.S_IFMT == unix.S_IFCHR
	names := lockNames(real, unix.Major(uint64(st.Rdev)), unix.Minor(uint64(st.Rdev)), haveNumbers)
	if base := filepath.Base(path); base != filepath.Base(real) {
		names = append(names, "LCK.."+base) // a program that locked the name it was given
	}
	for _, dir := range lockDirs() {
		present, known := lockEntries(dir)
		for _, name := range names {
			if known && !present[name] {
				continue // not there (lockEntries: the directory is watched)
			}
			file := filepath.Join(dir, name)
			pid, ok := lockOwner(file)
			if ok && pid != os.Getpid() {
				return &BusyError{Resource: path, Holder: Holder{Process: processName(pid), PID: pid}, How: "lock file " + file}, real, nil
			}
		}
	}
	if pid := heldBy(real); pid > 0 {
		return &BusyError{Resource: path, Holder: Holder{Process: processName(pid), PID: pid}, How: "the port is open in that process"}, real, nil
	}
	return nil, real, nil
}

// lockDirs are LockDirs without repeats: on most systems /var/lock is a
// link to /run/lock, and every lock file name looked up twice is one more
// failed open per serial probe. Where each directory leads is resolved
// once.
func lockDirs() []string {
	var out []string
	seen := map[string]bool{}
	for _, dir := range LockDirs {
		real := dir
		if r, ok := lockDirReal.Load(dir); ok {
			real = r.(string)
		} else if r, err := filepath.EvalSymlinks(dir); err == nil {
			real = r
			lockDirReal.Store(dir, r)
		}
		if !seen[real] {
			seen[real] = true
			out = append(out, dir)
		}
	}
	return out
}

var lockDirReal sync.Map // lock directory → where its links lead

// lockOwner reads a lock file and reports its pid when that process lives.
// A missing, unreadable or stale lock is no lock.
func lockOwner(file string) (int, bool) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, false
	}
	pid, err := ParseLockPID(b)
	if err != nil || !pidAlive(pid) {
		return 0, false
	}
	return pid, true
}

// pidAlive: signal 0 checks existence; EPERM means it exists but is not ours.
func pidAlive(pid int) bool {
	err := unix.Kill(pid, 0)
	return err == nil || errors.Is(err, unix.EPERM)
}

// takeLock writes our own lock file (exclusive use and the tap only: see
// README "Living beside the POS software") in the first lock directory we
// may write to, and returns its remover. A stale lock is replaced; without a
// writable lock directory the port is used unlocked.
func takeLock(path string) (release func(), err error) {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return nil, err
	}
	name := lockNames(real, 0, 0, false)[0]
	for _, dir := range LockDirs {
		file := filepath.Join(dir, name)
		for range 2 {
			f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
			if errors.Is(err, fs.ErrExist) {
				if pid, live := lockOwner(file); live && pid != os.Getpid() {
					return nil, &BusyError{Resource: path, Holder: Holder{Process: processName(pid), PID: pid}, How: "lock file " + file}
				}
				_ = os.Remove(file) // stale, or ours from before
				continue
			}
			if err != nil {
				break // not writable here: try the next directory
			}
			_, werr := f.Write(FormatLockPID(os.Getpid()))
			cerr := f.Close()
			if werr != nil || cerr != nil {
				_ = os.Remove(file)
				break
			}
			return func() { _ = os.Remove(file) }, nil
		}
	}
	return func() {}, nil
}

// shareAfterOpen undoes the TIOCEXCL that go.bug.st/serial sets on every
// port it opens on Linux and the BSDs (serial_unix.go, nativeOpen:
// acquireExclusiveAccess). The library does not expose its descriptor, so
// the descriptor is found among our own (/dev/fd) by its device number, and
// TIOCNXCL, which acts on the terminal and not on the descriptor, is issued
// on it. Between the two ioctls another program's open would fail with
// EBUSY; the window is a few microseconds.
func shareAfterOpen(path string) error {
	var want unix.Stat_t
	if err := unix.Stat(path, &want); err != nil {
		return err
	}
	entries, err := os.ReadDir("/dev/fd")
	if err != nil {
		return err
	}
	for _, e := range entries {
		fd, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var st unix.Stat_t
		if unix.Fstat(fd, &st) != nil || st.Mode&unix.S_IFMT != unix.S_IFCHR || st.Rdev != want.Rdev {
			continue
		}
		if err := unix.IoctlSetInt(fd, unix.TIOCNXCL, 0); err == nil {
			return nil
		}
	}
	return fmt.Errorf("no descriptor of ours for %s to clear exclusive use on", path)
}

// busyOpenError turns an open failure that means "someone else has it"
// into a BusyError.
func busyOpenError(path string, err error) *BusyError {
	if !errors.Is(err, unix.EBUSY) && !isLibBusy(err) {
		return nil
	}
	be := &BusyError{Resource: path, How: "open: device or resource busy (another program opened it for exclusive use)"}
	if real, rerr := filepath.EvalSymlinks(path); rerr == nil {
		if pid := openedBy(real); pid > 0 {
			be.Holder = Holder{Process: processName(pid), PID: pid}
		}
	}
	return be
}
