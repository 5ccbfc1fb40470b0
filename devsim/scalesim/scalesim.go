package scalesim

import (
	"bufio"
	"context"
	"io"
	"math"
	"math/bits"
	"sync"

	"github.com/storewatch/storewatch/devsim"
)

// Fault names the scale emulators share: the vocabulary's codes.
const (
	Overload    = "scale_overload"
	UnderZero   = "scale_under_zero"
	Unstable    = "scale_unstable"
	ZeroError   = "scale_zero_error"
	Calibration = "scale_calibration_error"
)

// Parity is how a line frames characters. On a real 7-bit line the UART
// adds the parity bit and the receiver's UART strips it; over a PTY nothing
// does, so an emulator modelling a 7E1 or 7O1 line puts the parity bit into
// bit 7 of every byte it sends, and the driver must cope, as it must with a
// port opened as 8 data bits on a 7-bit line.
type Parity byte

// Line parities.
const (
	None Parity = 'N' // 8 data bits, or a UART that stripped parity: bytes as they are
	Even Parity = 'E'
	Odd  Parity = 'O'
)

// Encode returns b as sent on the line: with parity, bit 7 of each byte is
// the parity of its low seven bits.
func (p Parity) Encode(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		c &= 0x7F
		ones := bits.OnesCount8(c)
		if p == Even && ones%2 == 1 || p == Odd && ones%2 == 0 {
			c |= 0x80
		}
		if p == None {
			c = b[i]
		}
		out[i] = c
	}
	return out
}

// Decode returns received bytes as characters: on a 7-bit line bit 7 is
// parity and is dropped.
func (p Parity) Decode(b []byte) []byte {
	if p == None {
		return b
	}
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = c & 0x7F
	}
	return out
}

// Garbage is what a scale line sends when something is badly wrong (wrong
// baud rate, a broken cable): bytes of every kind, including the usual
// terminators (CR, LF, ETX), so a reader waiting for an end of frame gets a
// frame that fits no protocol rather than silence.
var Garbage = []byte{0xFE, 0x1F, 0x9A, 0x55, 0xC3, '#', 0x00, 0x8D, 0xF0, 0x0D, 0x0A, 0xE5, 0x7E, 0x03, 0xB1, 0x0D, 0x0A}

// Answer writes resp as the switchboard says: nothing while "silent", after
// the delay while "slow", noise while "garbage".
func Answer(ctx context.Context, w io.Writer, f *devsim.Faults, p Parity, resp []byte) error {
	if f.On(devsim.FaultSilent) || len(resp) == 0 {
		return nil
	}
	f.Pause(ctx)
	if ctx.Err() != nil {
		return nil
	}
	if f.On(devsim.FaultGarbage) {
		resp = Garbage
	} else {
		resp = p.Encode(resp)
	}
	_, err := w.Write(resp)
	return err
}

// Commands reads requests from r, split by split, with bit 7 dropped as p
// says, until r fails or ctx ends. The error channel receives the read
// error once commands is closed.
func Commands(ctx context.Context, r io.Reader, p Parity, split bufio.SplitFunc) (<-chan string, <-chan error) {
	cmds := make(chan string)
	errc := make(chan error, 1)
	go func() {
		defer close(cmds)
		sc := bufio.NewScanner(decoder{r, p})
		sc.Split(split)
		for sc.Scan() {
			select {
			case cmds <- sc.Text():
			case <-ctx.Done():
				errc <- nil
				return
			}
		}
		errc <- sc.Err()
	}()
	return cmds, errc
}

type decoder struct {
	r io.Reader
	p Parity
}

func (d decoder) Read(b []byte) (int, error) {
	n, err := d.r.Read(b)
	copy(b, d.p.Decode(b[:n]))
	return n, err
}

// Platter is the load on a scale and what its display shows: the gross load
// minus the zero point, wobbling while the weight is moving. Weights are in
// kilograms.
type Platter struct {
	mu     sync.Mutex
	load   float64
	zero   float64
	wobble int
}

// NewPlatter returns a platter carrying load kg with zero at 0.
func NewPlatter(load float64) *Platter { return &Platter{load: load} }

// Put sets the load in kg.
func (p *Platter) Put(kg float64) {
	p.mu.Lock()
	p.load = kg
	p.mu.Unlock()
}

// Shown returns the displayed weight in kg. While moving, every reading
// differs a little from the last, as a real moving weight does.
func (p *Platter) Shown(moving bool) float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	w := p.load - p.zero
	if moving {
		p.wobble++
		w += float64(p.wobble%7-3) * 0.013
	}
	return math.Round(w*1e6) / 1e6
}

// SetZero makes the current load the zero point.
func (p *Platter) SetZero() {
	p.mu.Lock()
	p.zero = p.load
	p.mu.Unlock()
}
