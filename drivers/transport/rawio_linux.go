package transport

import (
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Reads and writes on a probe's connection go to the kernel without the
// runtime's system-call bookkeeping. A Go program's monitor thread (sysmon)
// sleeps deeply while every P is idle, and the first system call made
// through syscall.Syscall after that wakes it with its shortest period
// (20 µs, doubling only after 50 idle rounds): each round trip of an
// exchange (write a question, wait for the device, read the answer) woke
// it again, some fifteen sleeps and futex calls per probe in
// `strace -c -f`, the largest single cost of the agent at 50 devices
// (docs/benchmarks.md). A read or write on a non-blocking descriptor
// returns at once, so it needs no handoff of the P that entersyscall
// prepares for; the wait itself stays with Go's poller (RawConn.Read and
// Write park the goroutine until the descriptor is ready and honour the
// deadlines set on the connection).

// rawIO reads and writes a pollable descriptor with raw system calls.
type rawIO struct {
	rc syscall.RawConn
}

// newRawIO returns nil when c offers no descriptor; the caller then uses
// its ordinary Read and Write.
func newRawIO(c syscall.Conn) *rawIO {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil
	}
	return &rawIO{rc: rc}
}

// read reads into p once data is there. Its error is an errno, or the
// poller's (a deadline, a closed descriptor): the caller wraps it the way
// its package's Read does. A read of nothing from a non-empty p is the end
// of the stream, reported as n == 0 and a nil error, as read(2) does.
func (r *rawIO) read(p []byte) (n int, err error) {
	if len(p) == 0 {
		return 0, nil
	}
	var errno syscall.Errno
	perr := r.rc.Read(func(fd uintptr) bool {
		for {
			m, _, e := unix.RawSyscall(unix.SYS_READ, fd, uintptr(unsafe.Pointer(&p[0])), uintptr(len(p)))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until readable
			case 0:
				n = int(m)
			default:
				errno = e
			}
			return true
		}
	})
	if perr != nil {
		return 0, perr
	}
	if errno != 0 {
		return 0, errno
	}
	return n, nil
}

// write writes all of p, waiting for room as needed.
func (r *rawIO) write(p []byte) (n int, err error) {
	var errno syscall.Errno
	perr := r.rc.Write(func(fd uintptr) bool {
		for n < len(p) {
			m, _, e := unix.RawSyscall(unix.SYS_WRITE, fd, uintptr(unsafe.Pointer(&p[n])), uintptr(len(p)-n))
			switch e {
			case unix.EINTR:
				continue
			case unix.EAGAIN:
				return false // wait until writable
			case 0:
				n += int(m)
			default:
				errno = e
				return true
			}
		}
		return true
	})
	if perr != nil {
		return n, perr
	}
	if errno != 0 {
		return n, errno
	}
	return n, nil
}
