package transport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"sync"
	"time"

	"go.bug.st/serial"
)

// ErrUnreachable marks a failure to open or connect: the device (or its port)
// is not there at all.
var ErrUnreachable = errors.New("unreachable")

// Conn is an open byte stream to a device.
type Conn interface {
	io.ReadWriteCloser
	// SetDeadline bounds every following Read and Write.
	SetDeadline(t time.Time) error
}

// DialOptions are a driver's defaults for addresses that do not say.
type DialOptions struct {
	DefaultPort int        // for tcp://host without a port
	Serial      SerialMode // line settings when the address gives none
	// NoBusyCheck: a TCP port that refuses or stays silent is the answer
	// (netprobe), never a sign of a device serving another client.
	NoBusyCheck bool
}

// Dial opens the address. The returned Conn's deadline is set from ctx, and
// cancelling ctx closes it, so no read can outlive the caller's timeout.
func Dial(ctx context.Context, a Address, o DialOptions) (Conn, error) {
	var (
		c   Conn
		err error
	)
	switch a.Scheme {
	case "tcp":
		c, err = dialTCP(ctx, a, o.DefaultPort, !o.NoBusyCheck)
	case "serial":
		if t, ok := tapFor(a); ok {
			c, err = t.Session(ctx)
			break
		}
		c, err = openSerial(a, o.Serial)
	case "usb":
		if a.Path != "" {
			c, err = openUSBNode(a)
		} else {
			c, err = dialUSBDevice(a)
		}
	default:
		return nil, fmt.Errorf("%s: transport %q cannot carry a byte stream", a, a.Scheme)
	}
	if err != nil {
		return nil, err
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
	}
	return bindContext(ctx, c), nil
}

// bound closes the connection when the context ends. The close races with a
// read that is timing out at the same moment, so an error after the context
// ended is reported as what it is, a timeout (or a cancellation), rather than
// as "port has been closed".
//
// It also reads ahead: a read takes whatever the device has sent, up to
// readAhead bytes, in one system call, and later reads (and ReadByte, which
// ReadUntil uses) are served from what is kept. A driver reading an answer
// up to its terminator used to make one read per byte; bytes past the
// terminator now wait here for the next read on the same connection
// instead of in the operating system's buffer, and Flush drops them with
// the rest of the stale input.
type bound struct {
	Conn
	ctx  context.Context
	stop func() bool
	once sync.Once

	buf   []byte // read ahead, not yet consumed: buf[r:w]
	r, w  int
	ahead int // how much a read asks for: readAhead, or 1 (see bindContext)
}

// readAhead is the most a read asks of the device: more than a status
// answer, less than a label printer's longest identity.
const readAhead = 256

func bindContext(ctx context.Context, c Conn) Conn {
	b := &bound{Conn: c, ctx: ctx, ahead: readAhead}
	if _, lib := c.(*serialConn); lib {
		// A port opened through go.bug.st/serial (Windows, macOS) is read
		// a byte at a time, as before read-ahead: how a many-byte read
		// with the library's timeouts behaves on Windows' COM drivers is
		// not measured anywhere here (Wine is not Windows), and the one
		// run of TestSerialCOMPort under Wine that timed out mid-probe
		// had read-ahead (not reproduced since). Linux's native ports and
		// TCP read ahead.
		b.ahead = 1
	}
	b.stop = context.AfterFunc(ctx, func() { _ = c.Close() })
	return b
}

func (b *bound) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.r == b.w {
		if len(p) >= b.ahead {
			n, err := b.Conn.Read(p)
			return n, b.explain(err)
		}
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	n := copy(p, b.buf[b.r:b.w])
	b.r += n
	return n, nil
}

// ReadByte implements io.ByteReader.
func (b *bound) ReadByte() (byte, error) {
	if b.r == b.w {
		if err := b.fill(); err != nil {
			return 0, err
		}
	}
	c := b.buf[b.r]
	b.r++
	return c, nil
}

// fill reads what the device has sent into an empty buffer. It returns an
// error only when nothing was read.
func (b *bound) fill() error {
	if b.buf == nil {
		b.buf = make([]byte, b.ahead)
	}
	b.r, b.w = 0, 0
	for {
		n, err := b.Conn.Read(b.buf)
		if n > 0 {
			b.w = n
			return nil
		}
		if err != nil {
			return b.explain(err)
		}
	}
}

// discard drops what was read ahead.
func (b *bound) discard() { b.r, b.w = 0, 0 }

func (b *bound) Write(p []byte) (int, error) {
	n, err := b.Conn.Write(p)
	return n, b.explain(err)
}

func (b *bound) explain(err error) error {
	cerr := b.ctx.Err()
	if err == nil || cerr == nil || errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, cerr) {
		return err
	}
	if errors.Is(cerr, context.DeadlineExceeded) {
		return fmt.Errorf("%w (%w): %w", os.ErrDeadlineExceeded, cerr, err)
	}
	return fmt.Errorf("%w: %w", cerr, err)
}

func (b *bound) Close() error {
	var err error
	b.once.Do(func() {
		b.stop()
		err = b.Conn.Close()
	})
	return err
}

// serialConn adapts go.bug.st/serial to Conn. The library reports a read
// timeout as (0, nil), which would make io.ReadFull and friends spin; here a
// read that reaches the deadline returns an error matching
// os.ErrDeadlineExceeded instead.
type serialConn struct {
	port   serial.Port
	path   string
	unlock func() // removes our lock file (exclusive use only)

	mu       sync.Mutex
	deadline time.Time
}

// pollSlice bounds one blocking read when no deadline is set, so Close from
// another goroutine is noticed promptly on every platform.
const pollSlice = 500 * time.Millisecond

func openSerial(a Address, def SerialMode) (Conn, error) {
	path, err := resolveSerial(a)
	if err != nil {
		return nil, err
	}
	mode, err := a.SerialMode(def.Or(Mode8N1))
	if err != nil {
		return nil, fmt.Errorf("serial %s: %w", path, err)
	}
	// A port someone else holds is left alone: opening it would raise DTR
	// under the other program's feet and our reads would take its bytes.
	be, real, err := portUser(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("serial %s: %w", path, err)
	} else if be != nil {
		return nil, be
	}
	release := func() {}
	if a.Exclusive {
		if release, err = takeLock(path); err != nil {
			return nil, err
		}
	}
	if haveNativeSerial {
		c, err := openNative(path, mode, a.Exclusive)
		if err != nil {
			release()
			if be := busyOpenError(path, err); be != nil {
				return nil, be
			}
			return nil, fmt.Errorf("serial %s: %w: %w", path, ErrUnreachable, err)
		}
		c.unlock = release
		ownOpen(real)
		return c, nil
	}
	p, err := serial.Open(path, mode.toLib())
	if err != nil {
		release()
		if be := busyOpenError(path, err); be != nil {
			return nil, be
		}
		return nil, fmt.Errorf("serial %s: %w: %w", path, ErrUnreachable, err)
	}
	ownOpen(real)
	if !a.Exclusive {
		if err := shareAfterOpen(path); err != nil {
			p.Close()
			return nil, fmt.Errorf("serial %s: cannot leave the port open to other programs: %w", path, err)
		}
	}
	return &serialConn{port: p, path: path, unlock: release}, nil
}

// isLibBusy matches go.bug.st/serial's "port busy" (EBUSY on unix, access
// denied on Windows).
func isLibBusy(err error) bool {
	var pe *serial.PortError
	return errors.As(err, &pe) && pe.Code() == serial.PortBusy
}

// resolveSerial finds the device node for an address. Addresses that name a
// USB identity instead of a node are resolved by the enumerator.
func resolveSerial(a Address) (string, error) {
	if a.Path != "" {
		return a.Path, nil
	}
	return findSerialByUSB(a.Query.Get("usb"), a.Query.Get("usbserial"))
}

// findSerialByUSB is replaced by the serial-port discovery (go.bug.st/serial's
// enumerator) when it is built in.
var findSerialByUSB = func(vidpid, serialNo string) (string, error) {
	return "", fmt.Errorf("serial usb=%s: %w: finding ports by USB identity is not supported in this build", vidpid, ErrUnreachable)
}

func (c *serialConn) SetDeadline(t time.Time) error {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
	return nil
}

func (c *serialConn) Read(p []byte) (int, error) {
	for {
		c.mu.Lock()
		dl := c.deadline
		c.mu.Unlock()
		slice := pollSlice
		if !dl.IsZero() {
			left := time.Until(dl)
			if left <= 0 {
				return 0, fmt.Errorf("serial %s: read: %w", c.path, os.ErrDeadlineExceeded)
			}
			slice = min(slice, left)
		}
		if err := c.port.SetReadTimeout(slice); err != nil {
			return 0, fmt.Errorf("serial %s: %w", c.path, err)
		}
		n, err := c.port.Read(p)
		if n > 0 || err != nil {
			if err != nil {
				err = fmt.Errorf("serial %s: read: %w", c.path, err)
			}
			return n, err
		}
	}
}

// Write has no timeout in the library; a device holding flow control could
// block it, in which case the context's close unblocks it.
func (c *serialConn) Write(p []byte) (int, error) {
	n, err := c.port.Write(p)
	if err != nil {
		err = fmt.Errorf("serial %s: write: %w", c.path, err)
	}
	return n, err
}

func (c *serialConn) Close() error {
	err := c.port.Close()
	c.unlock()
	return err
}

// Flush discards whatever the device sent before we asked: a scale streaming
// weights, or garbage from a previous timed-out exchange.
func Flush(c Conn) {
	if b, ok := c.(*bound); ok {
		b.discard()
		c = b.Conn
	}
	switch s := c.(type) {
	case *serialConn:
		_ = s.port.ResetInputBuffer()
	case *nativeSerial:
		s.flushInput()
	}
}
