package transport

import (
	"encoding/binary"
	"os"
	"strings"
	"sync"

	"golang.org/x/sys/unix"
)

// Finding who else has a serial port open means reading every /proc/PID/fd
// link of the machine (openedBy): a thousand system calls and as many
// allocations on a small PC, milliseconds of CPU, for every probe of every
// serial device. The answer rarely changes, and the kernel can say when it
// might have: inotify reports every open of the port's device node. So a
// scan that found nobody stays the answer until the port is opened by
// anyone but this process's own Dial, and only then is /proc read again.
//
// A process holding the port now either held it at the last scan (which
// found it, and then the next probe scans again) or opened it since (an
// open the watch saw) or got the descriptor from one that did (fork,
// descriptor passing). The agent's own open is told apart by when it comes:
// the events queued right after it are taken as its own (inotify merges an
// open with one just before it, so they cannot be counted). An open by
// another program in the few microseconds between the check and the
// agent's open is missed, as it always was between the scan and the open.
// A lost event (queue overflow), a port node that disappears (an unplugged
// USB adapter) or inotify not being available all mean: scan.

type openWatch struct {
	mu    sync.Mutex
	fd    int // inotify descriptor; -1 unavailable, -2 not yet opened
	ports map[string]*watchedPort
	byWD  map[int32]*watchedPort
	dirs  map[string]*watchedDir // lock directories, by the name in LockDirs
	dirWD map[int32]*watchedDir
	buf   []byte
}

// The same descriptor watches the lock directories. Looking up every lock
// file name a port may have (LCK..ttyS0, LCK..pts_3, LCK.188.000) in every
// lock directory cost a failed open per name and directory on every serial
// probe. A directory's LCK names are read once and again only after inotify
// reports an entry created, removed or renamed in it; a probe then opens
// only the lock files that exist. A lost event (queue overflow) means read
// again; a directory that cannot be watched (missing, no inotify) is
// searched name by name as before.
type watchedDir struct {
	wd    int32
	fresh bool            // names is up to date
	names map[string]bool // the LCK.. entries
}

// dirEvents change a directory's entries.
const dirEvents = unix.IN_CREATE | unix.IN_DELETE | unix.IN_MOVED_FROM | unix.IN_MOVED_TO

type watchedPort struct {
	path   string
	wd     int32
	free   bool // the last scan found nobody else
	opened bool // someone opened the port since the last check
}

var portWatch = openWatch{fd: -2}

// heldBy returns the pid of another process that has the port (its real
// path) open, or 0, reading /proc only when an open may have happened since
// the last scan found nobody.
func heldBy(real string) int {
	return portWatch.heldBy(real)
}

// ownOpen records that this process opened the port real (the path
// heldBy was asked about) itself, so the open the watch reports is not
// taken for another's.
func ownOpen(real string) {
	w := &portWatch
	w.mu.Lock()
	defer w.mu.Unlock()
	if p := w.ports[real]; p != nil {
		w.drain()
		p.opened = false
	}
}

// init opens the inotify descriptor on first use.
func (w *openWatch) init() {
	if w.fd != -2 {
		return
	}
	w.fd = -1
	if fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC); err == nil {
		w.fd = fd
		w.ports, w.byWD = map[string]*watchedPort{}, map[int32]*watchedPort{}
		w.dirs, w.dirWD = map[string]*watchedDir{}, map[int32]*watchedDir{}
		w.buf = make([]byte, 4096)
	}
}

// lockEntries returns the LCK.. names in the lock directory dir, or false
// when the directory cannot be watched and each name must be looked up.
func lockEntries(dir string) (map[string]bool, bool) {
	return portWatch.lockEntries(dir)
}

func (w *openWatch) lockEntries(dir string) (map[string]bool, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	if w.fd < 0 {
		return nil, false
	}
	w.drain()
	d := w.dirs[dir]
	if d == nil {
		wd, err := unix.InotifyAddWatch(w.fd, dir, dirEvents|unix.IN_ONLYDIR)
		if err != nil {
			return nil, false
		}
		if other := w.dirWD[int32(wd)]; other != nil {
			// Another name of a directory already watched (lockDirs
			// keeps one name per directory, but tests change LockDirs).
			return nil, false
		}
		d = &watchedDir{wd: int32(wd)}
		w.dirs[dir], w.dirWD[d.wd] = d, d
	}
	if !d.fresh {
		names, err := readLockNames(dir)
		if err != nil {
			return nil, false
		}
		d.names, d.fresh = names, true
	}
	return d.names, true
}

// readLockNames lists the entries of dir that may be lock files.
func readLockNames(dir string) (map[string]bool, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	all, err := f.Readdirnames(-1)
	if err != nil {
		return nil, err
	}
	names := map[string]bool{}
	for _, n := range all {
		if strings.HasPrefix(n, "LCK.") {
			names[n] = true
		}
	}
	return names, nil
}

func (w *openWatch) heldBy(real string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.init()
	if w.fd < 0 {
		return openedBy(real)
	}
	w.drain()
	p := w.ports[real]
	if p == nil {
		wd, err := unix.InotifyAddWatch(w.fd, real, unix.IN_OPEN)
		if err != nil {
			return openedBy(real)
		}
		if other := w.byWD[int32(wd)]; other != nil && other.path != real {
			return openedBy(real) // two names of one node: not worth a cache
		}
		p = &watchedPort{path: real, wd: int32(wd)}
		w.ports[real], w.byWD[p.wd] = p, p
	}
	clean := p.free && !p.opened
	p.opened = false
	if clean {
		return 0
	}
	pid := openedBy(real)
	p.free = pid == 0
	return pid
}

// drain reads the events queued so far.
func (w *openWatch) drain() {
	for {
		n, err := unix.Read(w.fd, w.buf)
		if err == unix.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return // EAGAIN: nothing more
		}
		for off := 0; off+unix.SizeofInotifyEvent <= n; {
			b := w.buf[off:]
			wd := int32(binary.NativeEndian.Uint32(b[0:4]))
			mask := binary.NativeEndian.Uint32(b[4:8])
			off += unix.SizeofInotifyEvent + int(binary.NativeEndian.Uint32(b[12:16]))
			switch {
			case mask&unix.IN_Q_OVERFLOW != 0:
				for _, p := range w.ports {
					p.free = false
				}
				for _, d := range w.dirs {
					d.fresh = false
				}
			case mask&unix.IN_IGNORED != 0: // the node is gone; watch it anew
				if p := w.byWD[wd]; p != nil {
					delete(w.byWD, wd)
					delete(w.ports, p.path)
				}
				if d := w.dirWD[wd]; d != nil {
					delete(w.dirWD, wd)
					for name, other := range w.dirs {
						if other == d {
							delete(w.dirs, name)
						}
					}
				}
			case mask&dirEvents != 0:
				if d := w.dirWD[wd]; d != nil {
					d.fresh = false
				}
			case mask&unix.IN_OPEN != 0:
				if p := w.byWD[wd]; p != nil {
					p.opened = true
				}
			}
		}
	}
}

// ReleasePortWatch closes the inotify descriptor the serial probes share,
// and forgets what it learnt: a process that stops polling (an agent's Run
// ending, the demo closing) leaves no descriptor behind. The next serial
// probe opens a new one and scans /proc once more.
func ReleasePortWatch() {
	w := &portWatch
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		unix.Close(w.fd)
	}
	w.fd, w.ports, w.byWD, w.dirs, w.dirWD = -2, nil, nil, nil, nil
}
