package transport

import (
	"encoding/binary"
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
	buf   []byte
}

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

func (w *openWatch) heldBy(real string) int {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd == -2 {
		w.fd = -1
		if fd, err := unix.InotifyInit1(unix.IN_NONBLOCK | unix.IN_CLOEXEC); err == nil {
			w.fd = fd
			w.ports, w.byWD = map[string]*watchedPort{}, map[int32]*watchedPort{}
			w.buf = make([]byte, 4096)
		}
	}
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
			case mask&unix.IN_IGNORED != 0: // the node is gone; watch it anew
				if p := w.byWD[wd]; p != nil {
					delete(w.byWD, wd)
					delete(w.ports, p.path)
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
	w.fd, w.ports, w.byWD = -2, nil, nil
}
