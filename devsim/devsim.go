package devsim

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/storewatch/storewatch/internal/ptyline"
)

// Device is an emulated device. Serve answers requests read from rw until ctx
// ends or rw fails; one call serves one connection (or the one PTY).
type Device interface {
	Serve(ctx context.Context, rw io.ReadWriter) error
}

// Faults is the runtime fault switchboard an emulator embeds. Names are the
// emulator's own (usually the shared vocabulary's codes, plus transport
// misbehaviours such as "garbage", "silent" and "slow").
type Faults struct {
	mu     sync.Mutex
	known  map[string]bool
	active map[string]bool
	// Delay is added before every answer while "slow" is active.
	delay time.Duration
}

// Common transport misbehaviours every emulator should support.
const (
	FaultGarbage = "garbage" // answer with bytes that fit no protocol
	FaultSilent  = "silent"  // read requests but never answer
	FaultSlow    = "slow"    // answer after a delay (SetDelay)
)

// NewFaults returns a switchboard that accepts the given names.
func NewFaults(names ...string) *Faults {
	f := &Faults{known: map[string]bool{}, active: map[string]bool{}, delay: 2 * time.Second}
	for _, n := range names {
		f.known[n] = true
	}
	return f
}

// Set turns a fault on or off.
func (f *Faults) Set(name string, on bool) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !f.known[name] {
		return fmt.Errorf("unknown fault %q (this device knows %s)", name, strings.Join(f.namesLocked(), ", "))
	}
	if on {
		f.active[name] = true
	} else {
		delete(f.active, name)
	}
	return nil
}

// Clear turns every fault off.
func (f *Faults) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.active = map[string]bool{}
}

// On reports whether a fault is active.
func (f *Faults) On(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.active[name]
}

// Active lists the active faults, sorted.
func (f *Faults) Active() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.active {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Known lists the faults this device can emulate, sorted.
func (f *Faults) Known() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.namesLocked()
}

func (f *Faults) namesLocked() []string {
	var out []string
	for n := range f.known {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// SetDelay sets how long "slow" holds each answer.
func (f *Faults) SetDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
	f.mu.Unlock()
}

// Pause waits out the "slow" delay if it is active, or until ctx ends.
func (f *Faults) Pause(ctx context.Context) {
	f.mu.Lock()
	slow, d := f.active[FaultSlow], f.delay
	f.mu.Unlock()
	if !slow {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

// Switchable is an emulator whose faults can be driven from outside.
type Switchable interface {
	Device
	Switchboard() *Faults
}

// PTY serves a device on a pseudo-terminal. Drivers open Path as a serial
// port.
type PTY struct {
	Path   string
	master *os.File
	slave  *os.File
	cancel context.CancelFunc
	done   chan error
}

// ServePTY opens a pseudo-terminal and serves dev on its master side until
// Close.
func ServePTY(ctx context.Context, dev Device) (*PTY, error) {
	return servePTY(ctx, dev, false)
}

// ServeLonePTY is ServePTY for a program in another process that checks
// who else has a serial port open (storeagent does, to leave the POS
// application's port alone, and would find this process holding the
// slave side): the emulator does not keep the slave open, so the port
// looks like a real one that nobody holds. While no program has the slave
// open, the master's reads fail (EIO on Linux); they are retried after a
// pause that grows to 50 ms, so a request waits at most that long. What the
// device sends meanwhile is dropped, as a line with nothing attached drops
// it.
func ServeLonePTY(ctx context.Context, dev Device) (*PTY, error) {
	return servePTY(ctx, dev, true)
}

func servePTY(ctx context.Context, dev Device, lone bool) (*PTY, error) {
	master, slave, err := ptyline.Open()
	if err != nil {
		return nil, fmt.Errorf("devsim: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	p := &PTY{Path: slave.Name(), master: master, slave: slave, cancel: cancel, done: make(chan error, 1)}
	var rw io.ReadWriter = master
	if lone {
		slave.Close()
		p.slave = nil
		rw = &loneMaster{ctx: ctx, f: master}
	}
	go func() {
		// Close the master when ctx ends so Serve's blocked Read returns.
		stop := context.AfterFunc(ctx, func() { master.Close() })
		defer stop()
		err := dev.Serve(ctx, rw)
		if ctx.Err() != nil {
			err = nil
		}
		p.done <- err
	}()
	return p, nil
}

// Close stops serving and releases the PTY. It returns the error Serve ended
// with, if it ended on its own.
func (p *PTY) Close() error {
	p.cancel()
	err := <-p.done
	p.master.Close()
	if p.slave != nil {
		p.slave.Close()
	}
	return err
}

// loneMaster is a PTY master whose slave side is open only while a client
// has it (ServeLonePTY).
type loneMaster struct {
	ctx context.Context
	f   *os.File
}

func (m *loneMaster) Read(p []byte) (int, error) {
	pause := time.Millisecond
	for {
		n, err := m.f.Read(p)
		if !errors.Is(err, syscall.EIO) {
			return n, err
		}
		t := time.NewTimer(pause)
		select {
		case <-m.ctx.Done():
			t.Stop()
			return 0, m.ctx.Err()
		case <-t.C:
		}
		pause = min(2*pause, 50*time.Millisecond)
	}
}

func (m *loneMaster) Write(p []byte) (int, error) {
	n, err := m.f.Write(p)
	if errors.Is(err, syscall.EIO) {
		return len(p), nil // nobody on the line
	}
	return n, err
}

// TCP serves a device on a TCP listener, one connection at a time, as a
// receipt printer on port 9100 or a payment terminal's ECR port does. What a
// second client meets while one is served is the TCP's Second.
type TCP struct {
	Addr   string
	Second Second
	ln     net.Listener
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex
	conn     net.Conn
	accepted int
	turned   int
}

// Second is how a single-client device treats a second client.
type Second int

const (
	// SecondWaits: the second client waits in the listen backlog, its
	// connection up but unanswered, until the first leaves (a 9100
	// printer).
	SecondWaits Second = iota
	// SecondRefused: the device stops listening while it serves a client,
	// so a second connection is refused (RST).
	SecondRefused
	// SecondClosed: the device accepts a second connection and closes it
	// at once, before a byte.
	SecondClosed
)

// ServeTCP listens on addr ("127.0.0.1:0" for a free port) and serves dev;
// a second client waits in the backlog.
func ServeTCP(ctx context.Context, dev Device, addr string) (*TCP, error) {
	return ServeTCPSecond(ctx, dev, addr, SecondWaits)
}

// ServeTCPSecond is ServeTCP with a choice of what a second client meets.
func ServeTCPSecond(ctx context.Context, dev Device, addr string, second Second) (*TCP, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("devsim: listen %s: %w", addr, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	t := &TCP{Addr: ln.Addr().String(), Second: second, ln: ln, cancel: cancel}
	stop := context.AfterFunc(ctx, func() {
		t.mu.Lock()
		t.ln.Close()
		t.mu.Unlock()
	})
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		defer stop()
		for {
			t.mu.Lock()
			ln := t.ln
			t.mu.Unlock()
			c, err := ln.Accept()
			if err != nil {
				return
			}
			t.mu.Lock()
			t.conn = c
			t.accepted++
			t.mu.Unlock()
			switch second {
			case SecondRefused:
				ln.Close() // refused from now on
			case SecondClosed:
				t.wg.Add(1)
				go t.turnAway(ln)
			}
			connStop := context.AfterFunc(ctx, func() { c.Close() })
			_ = dev.Serve(ctx, c)
			connStop()
			c.Close()
			t.mu.Lock()
			t.conn = nil
			t.mu.Unlock()
			if ctx.Err() != nil {
				return
			}
			if second != SecondWaits {
				// Listen anew: SecondRefused closed the listener, and
				// SecondClosed's turnAway ends with it.
				ln.Close()
				t.mu.Lock()
				nl, err := net.Listen("tcp", t.Addr)
				if err == nil {
					t.ln = nl
					if ctx.Err() != nil {
						nl.Close() // stop ran before nl existed
					}
				}
				t.mu.Unlock()
				if err != nil {
					return
				}
			}
		}
	}()
	return t, nil
}

// turnAway accepts and closes every connection until ln is closed.
func (t *TCP) turnAway(ln net.Listener) {
	defer t.wg.Done()
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		t.mu.Lock()
		t.turned++
		t.mu.Unlock()
		c.Close()
	}
}

// Accepted returns how many connections have been served.
func (t *TCP) Accepted() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.accepted
}

// TurnedAway returns how many second clients SecondClosed closed.
func (t *TCP) TurnedAway() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.turned
}

// Close stops listening, drops the current connection and waits.
func (t *TCP) Close() error {
	t.cancel()
	t.mu.Lock()
	t.ln.Close()
	if t.conn != nil {
		t.conn.Close()
	}
	t.mu.Unlock()
	t.wg.Wait()
	return nil
}

// IsClosed reports whether err only says the stream was closed, which is how
// every Serve loop ends.
func IsClosed(err error) bool {
	return err == nil || errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrClosed) ||
		strings.Contains(err.Error(), "input/output error")
}

// Factory builds an emulator with its default identity.
type Factory func() Switchable

var (
	regMu    sync.Mutex
	registry = map[string]Factory{}
)

// Register makes an emulator available to the devsim command by name.
func Register(name string, f Factory) {
	regMu.Lock()
	defer regMu.Unlock()
	if _, dup := registry[name]; dup {
		panic("devsim: " + name + " registered twice")
	}
	registry[name] = f
}

// Lookup returns a registered emulator factory.
func Lookup(name string) (Factory, bool) {
	regMu.Lock()
	defer regMu.Unlock()
	f, ok := registry[name]
	return f, ok
}

// Names lists the registered emulators.
func Names() []string {
	regMu.Lock()
	defer regMu.Unlock()
	var out []string
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
