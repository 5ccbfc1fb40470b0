package scalesim

import (
	"bufio"
	"context"
	"io"

	"github.com/storewatch/storewatch/devsim"
)

// Scale is the part every scale emulator has: a platter and a switchboard
// with the scale faults and the common misbehaviours. Emulators embed it.
type Scale struct {
	faults  *devsim.Faults
	platter *Platter
}

// NewScale returns a scale carrying load kg whose switchboard knows
// overload, under zero, unstable, zero error, garbage, silent, slow and
// extra.
func NewScale(load float64, extra ...string) Scale {
	names := append([]string{Overload, UnderZero, Unstable, ZeroError,
		devsim.FaultGarbage, devsim.FaultSilent, devsim.FaultSlow}, extra...)
	return Scale{faults: devsim.NewFaults(names...), platter: NewPlatter(load)}
}

// Switchboard implements devsim.Switchable.
func (s *Scale) Switchboard() *devsim.Faults { return s.faults }

// Platter is the load on the scale, for tests that put goods on it.
func (s *Scale) Platter() *Platter { return s.platter }

// On reports whether a fault is switched on.
func (s *Scale) On(fault string) bool { return s.faults.On(fault) }

// Shown is the displayed weight in kg: wobbling while unstable, and below
// zero while under zero (the platter was lifted off after zeroing).
func (s *Scale) Shown() float64 {
	w := s.platter.Shown(s.On(Unstable))
	if s.On(UnderZero) && w >= 0 {
		w = -0.25 - w
	}
	return w
}

// CanZero reports whether a zero command may set zero now: not moving, in
// range, and zero within the zero-setting range.
func (s *Scale) CanZero() bool {
	return !s.On(Unstable) && !s.On(Overload) && !s.On(UnderZero) && !s.On(ZeroError)
}

// Serve is the request/answer loop of a polled scale: each command split
// from rw (bit 7 dropped on a 7-bit line) is answered with answer(cmd), as
// the switchboard allows, until ctx ends or rw fails. A nil answer sends
// nothing.
func (s *Scale) Serve(ctx context.Context, rw io.ReadWriter, p Parity, split bufio.SplitFunc, answer func(cmd string) []byte) error {
	cmds, errc := Commands(ctx, rw, p, split)
	for {
		select {
		case <-ctx.Done():
			return nil
		case cmd, ok := <-cmds:
			if !ok {
				return <-errc
			}
			if err := Answer(ctx, rw, s.faults, p, answer(cmd)); err != nil {
				return err
			}
		}
	}
}
