package tap

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/ptyline"
)

// Config describes one tap.
type Config struct {
	// Port is the physical serial port; the tap opens it for itself
	// (exclusive, with a lock file) for as long as it runs.
	Port transport.Address
	// Mode is the line setting when the address gives none.
	Mode transport.SerialMode
	// VirtualPort is the name the POS application opens: a symbolic link
	// to the pseudo-terminal, made (and replaced) by the tap.
	VirtualPort string
	// IdleGap is how long the line must be quiet before the agent may
	// speak; ReplyWait how long after the POS application's last byte,
	// since the device may still be about to answer it.
	IdleGap   time.Duration
	ReplyWait time.Duration
	// MaxHold bounds one agent exchange: the POS application's bytes
	// wait for at most this long.
	MaxHold time.Duration
	// Watcher, when set, follows the POS application's exchanges on the
	// line for protocols whose exchanges have quiet gaps longer than
	// ReplyWait (a ZVT payment waits for the customer's PIN): the tap
	// starts no agent exchange while it says one is under way. NewWatcher
	// gives the one a driver registered.
	Watcher Watcher
	Logger  *slog.Logger
}

// Watcher follows the bytes of the POS application and its device and says
// when they are inside an exchange that the agent must not enter, idle
// gaps or not. The tap calls it with its lock held, one call at a time.
type Watcher interface {
	// Observe sees the line's bytes in order: fromPOS for what the POS
	// application sent the device, otherwise what the device sent it.
	Observe(fromPOS bool, p []byte, now time.Time)
	// Within reports whether an exchange is under way at now, and which
	// (for the busy reading).
	Within(now time.Time) (bool, string)
}

var (
	watchersMu sync.Mutex
	watchers   = map[string]func() Watcher{}
)

// RegisterWatcher makes NewWatcher(driver) build a Watcher for taps of the
// driver's devices. Drivers call it from init.
func RegisterWatcher(driver string, f func() Watcher) {
	watchersMu.Lock()
	defer watchersMu.Unlock()
	watchers[driver] = f
}

// NewWatcher returns a new Watcher for a device of the driver, or nil when
// the driver registered none (its exchanges have no quiet gaps).
func NewWatcher(driver string) Watcher {
	watchersMu.Lock()
	defer watchersMu.Unlock()
	if f, ok := watchers[driver]; ok {
		return f()
	}
	return nil
}

// Defaults.
const (
	DefaultIdleGap   = 100 * time.Millisecond
	DefaultReplyWait = 500 * time.Millisecond
	DefaultMaxHold   = 3 * time.Second
	heardMax         = 4096 // unsolicited bytes kept for drivers
)

// Stats count what passed.
type Stats struct {
	ToDevice, ToPOS   uint64 // the POS application's bytes, both ways
	Sessions          uint64 // agent exchanges
	Held              uint64 // POS bytes that waited for an agent exchange
	LateReplies       uint64 // device bytes after an exchange, dropped
	LineBusyTimeouts  uint64 // sessions that found no idle gap in time
	WatcherWaits      uint64 // sessions that waited for the Watcher's exchange to end
	SessionsCutAtHold uint64 // exchanges ended by MaxHold
}

// Tap is one running tap.
type Tap struct {
	cfg    Config
	dev    transport.Conn
	master io.ReadWriteCloser // what the tap reads and writes on the POS side
	slave  *os.File           // held open so the POS application may close and reopen; nil with a port pair
	log    *slog.Logger

	writeMu sync.Mutex // one writer to the device at a time

	mu      sync.Mutex
	wake    chan struct{} // closed and replaced on every change
	lastPOS time.Time
	lastDev time.Time
	// lastOurs is the agent's last write (UnixNano). Atomic: a session
	// writes under writeMu alone, never taking mu while it holds writeMu,
	// so the two locks are only ever taken mu first.
	lastOurs atomic.Int64
	session  *session
	settling bool
	held     [][]byte
	heard    []byte
	stats    Stats
}

// Open opens the physical port and the virtual one. Run passes the bytes.
func Open(ctx context.Context, cfg Config) (*Tap, error) {
	if cfg.VirtualPort == "" {
		return nil, errors.New("tap: no virtual port")
	}
	if cfg.IdleGap <= 0 {
		cfg.IdleGap = DefaultIdleGap
	}
	if cfg.ReplyWait < cfg.IdleGap {
		cfg.ReplyWait = max(DefaultReplyWait, cfg.IdleGap)
	}
	if cfg.MaxHold <= 0 {
		cfg.MaxHold = DefaultMaxHold
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	addr := cfg.Port
	addr.Exclusive = true // the tap is the port's one user; the POS goes through the tap
	dev, err := transport.Dial(context.WithoutCancel(ctx), addr, transport.DialOptions{Serial: cfg.Mode})
	if err != nil {
		return nil, fmt.Errorf("tap %s: %w", cfg.Port, err)
	}
	t := &Tap{cfg: cfg, dev: dev, log: log, wake: make(chan struct{})}
	if !strings.HasPrefix(cfg.VirtualPort, "/") {
		// Windows: no pseudo-terminals. The virtual port is one end of a
		// virtual COM port pair (com0com: COM20 <-> COM21); the tap opens
		// this end and the POS application the other.
		pair, err := transport.Parse("serial://" + cfg.VirtualPort)
		if err == nil {
			pair.Exclusive = true
			t.master, err = transport.Dial(context.WithoutCancel(ctx), pair, transport.DialOptions{Serial: cfg.Mode})
		}
		if err != nil {
			dev.Close()
			return nil, fmt.Errorf("tap %s: virtual port pair %s: %w", cfg.Port, cfg.VirtualPort, err)
		}
		return t, nil
	}
	master, slave, err := ptyline.Open()
	if err != nil {
		dev.Close()
		return nil, fmt.Errorf("tap %s: %w", cfg.Port, err)
	}
	if err := link(slave.Name(), cfg.VirtualPort); err != nil {
		dev.Close()
		master.Close()
		slave.Close()
		return nil, fmt.Errorf("tap %s: %w", cfg.Port, err)
	}
	t.master, t.slave = master, slave
	return t, nil
}

// link points name at target, replacing a link left by an earlier run but
// never a file or device that is not a link.
func link(target, name string) error {
	if fi, err := os.Lstat(name); err == nil {
		if fi.Mode()&os.ModeSymlink == 0 {
			return fmt.Errorf("virtual port %s exists and is not a link the tap made; refusing to replace it", name)
		}
		if err := os.Remove(name); err != nil {
			return err
		}
	}
	return os.Symlink(target, name)
}

// Path is the pseudo-terminal behind the virtual port (the pair's end on
// Windows).
func (t *Tap) Path() string {
	if t.slave == nil {
		return t.cfg.VirtualPort
	}
	return t.slave.Name()
}

// Run passes bytes until ctx ends, then closes both ports and removes the
// virtual port's link.
func (t *Tap) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make(chan error, 2)
	wg.Go(func() { errs <- t.fromPOS(ctx) })
	wg.Go(func() { errs <- t.fromDevice(ctx) })
	var err error
	select {
	case <-ctx.Done():
	case err = <-errs:
		cancel()
	}
	t.dev.Close()
	t.master.Close()
	wg.Wait()
	if t.slave != nil {
		t.slave.Close()
		if target, lerr := os.Readlink(t.cfg.VirtualPort); lerr == nil && target == t.slave.Name() {
			os.Remove(t.cfg.VirtualPort)
		}
	}
	if ctx.Err() != nil && errors.Is(err, os.ErrClosed) {
		err = nil
	}
	return err
}

// Stats returns the counters.
func (t *Tap) Stats() Stats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.stats
}

// changed wakes whoever waits for the line. Called with mu held.
func (t *Tap) changed() {
	close(t.wake)
	t.wake = make(chan struct{})
}

// fromPOS passes the POS application's bytes to the device, or holds them
// while an agent exchange has the line.
func (t *Tap) fromPOS(ctx context.Context) error {
	buf := make([]byte, 4096)
	for {
		n, err := t.master.Read(buf)
		if errors.Is(err, os.ErrDeadlineExceeded) {
			continue // a pair's serial end reads in slices
		}
		if n > 0 {
			t.mu.Lock()
			t.lastPOS = time.Now()
			t.stats.ToDevice += uint64(n)
			if t.session != nil || t.settling {
				t.held = append(t.held, append([]byte(nil), buf[:n]...))
				t.stats.Held += uint64(n)
				t.changed()
				t.mu.Unlock()
				continue
			}
			if t.cfg.Watcher != nil {
				t.cfg.Watcher.Observe(true, buf[:n], t.lastPOS)
			}
			// Write under writeMu, taken before mu is let go, so no
			// session can start writing between our decision and our
			// bytes.
			t.writeMu.Lock()
			t.changed()
			t.mu.Unlock()
			_, werr := t.dev.Write(buf[:n])
			t.writeMu.Unlock()
			if werr != nil {
				return fmt.Errorf("tap: to the device: %w", werr)
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			// EIO: nobody has the slave open; that cannot happen while we
			// hold it, so it is a real failure.
			return fmt.Errorf("tap: from the POS side: %w", err)
		}
	}
}

// fromDevice passes the device's bytes to the POS application, to the
// agent's exchange while there is one, or drops late answers to it.
func (t *Tap) fromDevice(ctx context.Context) error {
	buf := make([]byte, 4096)
	for {
		n, err := t.dev.Read(buf)
		if n > 0 {
			t.mu.Lock()
			t.lastDev = time.Now()
			switch {
			case t.session != nil:
				t.session.in = append(t.session.in, buf[:n]...)
				t.changed()
				t.mu.Unlock()
			case t.settling:
				t.stats.LateReplies += uint64(n)
				t.changed()
				t.mu.Unlock()
			default:
				t.stats.ToPOS += uint64(n)
				if t.cfg.Watcher != nil {
					t.cfg.Watcher.Observe(false, buf[:n], t.lastDev)
				}
				t.heard = append(t.heard, buf[:n]...)
				if len(t.heard) > heardMax {
					t.heard = append(t.heard[:0], t.heard[len(t.heard)-heardMax:]...)
				}
				t.changed()
				t.mu.Unlock()
				if _, werr := t.master.Write(buf[:n]); werr != nil {
					return fmt.Errorf("tap: to the POS side: %w", werr)
				}
			}
		}
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			if errors.Is(err, os.ErrDeadlineExceeded) {
				continue
			}
			return fmt.Errorf("tap: from the device: %w", err)
		}
	}
}

// Session waits for an idle gap and gives the caller the line.
func (t *Tap) Session(ctx context.Context) (transport.Conn, error) {
	waited := "" // the Watcher's exchange this session waited for
	for {
		t.mu.Lock()
		wait := t.cfg.IdleGap
		within, what := false, ""
		if t.cfg.Watcher != nil {
			within, what = t.cfg.Watcher.Within(time.Now())
		}
		if within && waited == "" {
			t.stats.WatcherWaits++
			waited = what
		}
		if t.session == nil && !t.settling && !within {
			last, need := t.lastDev, t.cfg.IdleGap
			if t.lastPOS.After(t.lastDev) {
				last, need = t.lastPOS, t.cfg.ReplyWait // the device may still answer the POS
			}
			quiet := time.Since(last)
			if quiet >= need {
				s := &session{t: t}
				t.session = s
				t.stats.Sessions++
				s.cut = time.AfterFunc(t.cfg.MaxHold, func() { s.end(true) })
				t.mu.Unlock()
				return s, nil
			}
			wait = need - quiet
		}
		wake := t.wake
		t.mu.Unlock()
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			t.mu.Lock()
			t.stats.LineBusyTimeouts++
			t.mu.Unlock()
			how := fmt.Sprintf("the POS application kept the line busy: no idle gap of %v before the timeout", t.cfg.IdleGap)
			if waited != "" {
				how = "the POS application was in " + waited + " until the timeout; nothing was sent"
			}
			return nil, &transport.BusyError{Resource: t.cfg.Port.Path, How: how}
		case <-wake:
			timer.Stop()
		case <-timer.C:
		}
	}
}

// settle ends an exchange: the device's late answers to it are dropped
// until it has been quiet for an idle gap; then the line is the POS
// application's again, and the bytes it sent meanwhile go out first, in
// order (new ones wait for writeMu behind them), so whatever the device
// answers from here on reaches the POS application.
func (t *Tap) settle() {
	// A write of the ended session may be under way: wait for it (it
	// counts as the agent's last byte). Later ones see the session ended
	// and write nothing, so none can follow the held bytes.
	t.writeMu.Lock()
	t.writeMu.Unlock() //nolint:staticcheck // a barrier, not a critical section
	for {
		t.mu.Lock()
		last, need := t.lastDev, t.cfg.IdleGap
		if ours := time.Unix(0, t.lastOurs.Load()); ours.After(t.lastDev) {
			last, need = ours, t.cfg.ReplyWait // our last question may still be answered
		}
		if quiet := time.Since(last); quiet < need {
			t.mu.Unlock()
			time.Sleep(need - quiet)
			continue
		}
		held := t.held
		t.held, t.settling = nil, false
		if t.cfg.Watcher != nil {
			now := time.Now()
			for _, b := range held {
				t.cfg.Watcher.Observe(true, b, now)
			}
		}
		if len(held) > 0 {
			// For the line they are the POS application's latest bytes:
			// the next exchange waits ReplyWait from here.
			t.lastPOS = time.Now()
		}
		t.writeMu.Lock()
		t.changed()
		t.mu.Unlock()
		for _, b := range held {
			if _, err := t.dev.Write(b); err != nil {
				t.log.Warn("tap: held bytes not written", "port", t.cfg.Port.Path, "err", err)
				break
			}
		}
		t.writeMu.Unlock()
		return
	}
}

// Overheard returns what the device sent the POS application since the
// last call (at most the latest 4 KiB).
func (t *Tap) Overheard() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := t.heard
	t.heard = nil
	return out
}

// session is one agent exchange on the line.
type session struct {
	t        *Tap
	in       []byte // device bytes for us; guarded by t.mu
	deadline time.Time
	cut      *time.Timer
	done     bool        // guarded by t.mu
	ended    atomic.Bool // done, for Write, which reads it under writeMu
	cutShort bool
}

func (s *session) end(byHold bool) {
	t := s.t
	t.mu.Lock()
	if s.done {
		t.mu.Unlock()
		return
	}
	s.done, s.cutShort = true, byHold
	s.ended.Store(true)
	if byHold {
		t.stats.SessionsCutAtHold++
	}
	t.session = nil
	t.settling = true
	t.changed()
	t.mu.Unlock()
	s.cut.Stop()
	go t.settle()
}

func (s *session) Close() error { s.end(false); return nil }

func (s *session) SetDeadline(d time.Time) error {
	s.t.mu.Lock()
	s.deadline = d
	s.t.changed()
	s.t.mu.Unlock()
	return nil
}

var errEnded = errors.New("tap: the exchange was ended (longer than the tap's hold limit, or closed)")

func (s *session) Write(p []byte) (int, error) {
	t := s.t
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	// Checked under writeMu: settle waits for writeMu before it lets the
	// POS application's held bytes go, so a write either ends before that
	// or finds the session ended.
	if s.ended.Load() {
		return 0, errEnded
	}
	n, err := t.dev.Write(p)
	t.lastOurs.Store(time.Now().UnixNano())
	return n, err
}

func (s *session) Read(p []byte) (int, error) {
	t := s.t
	for {
		t.mu.Lock()
		if len(s.in) > 0 {
			n := copy(p, s.in)
			s.in = s.in[n:]
			t.mu.Unlock()
			return n, nil
		}
		if s.done {
			t.mu.Unlock()
			return 0, io.EOF
		}
		dl, wake := s.deadline, t.wake
		t.mu.Unlock()
		if dl.IsZero() {
			<-wake
			continue
		}
		left := time.Until(dl)
		if left <= 0 {
			return 0, fmt.Errorf("tap %s: read: %w", t.cfg.Port.Path, os.ErrDeadlineExceeded)
		}
		timer := time.NewTimer(left)
		select {
		case <-wake:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// Overheard gives drivers the unsolicited bytes.
func (s *session) Overheard() []byte { return s.t.Overheard() }
