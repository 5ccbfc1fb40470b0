package toledo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
)

// Config describes the emulated scale. Zero fields take the defaults.
type Config struct {
	// Unit is what the scale weighs in: kg (the default), lb, oz or g. The
	// records carry no unit; grams come as six digits without a point.
	Unit string
	// Load is the weight on the platter in kg at start.
	Load float64
	// Parity is the line's: Even (the default, 7E1), Odd, or None.
	Parity scalesim.Parity
}

// Scale is an emulated Toledo 8213 scale.
type Scale struct {
	scalesim.Scale
	cfg Config
}

// New returns a scale with cfg's settings.
func New(cfg Config) *Scale {
	if cfg.Unit == "" {
		cfg.Unit = "kg"
	}
	if cfg.Parity == 0 {
		cfg.Parity = scalesim.Even
	}
	return &Scale{Scale: scalesim.NewScale(cfg.Load), cfg: cfg}
}

func init() {
	devsim.Register("toledo", func() devsim.Switchable { return New(Config{Load: 1.25}) })
}

// Serve answers commands: each received character is one (no CR needed;
// CR and LF are ignored).
func (s *Scale) Serve(ctx context.Context, rw io.ReadWriter) error {
	return s.Scale.Serve(ctx, rw, s.cfg.Parity, bufio.ScanBytes, s.answer)
}

const (
	stx = "\x02"
	cr  = "\r"
)

func (s *Scale) answer(cmd string) []byte {
	switch cmd {
	case "\r", "\n":
		return nil
	case "W":
		return s.weight(false)
	case "H":
		return s.weight(true)
	case "Z":
		if s.CanZero() {
			s.Platter().SetZero()
		}
	}
	return s.record()
}

// weight sends the weight record when the weight is valid, the status
// record otherwise (weight below zero, in motion, overload, or zero not
// captured).
func (s *Scale) weight(high bool) []byte {
	on := s.On
	w := s.Shown()
	if w < 0 || on(scalesim.Unstable) || on(scalesim.Overload) || on(scalesim.ZeroError) {
		return s.record()
	}
	digits := 6
	if high {
		digits = 7
	}
	if s.cfg.Unit == "g" {
		return []byte(fmt.Sprintf(stx+"%0*d"+cr, digits, int(math.Round(w*1000))))
	}
	return []byte(fmt.Sprintf(stx+"%0*.2f"+cr, digits, w/perKg[s.cfg.Unit]))
}

var perKg = map[string]float64{"kg": 1, "lb": 0.45359237, "oz": 0.028349523125, "g": 0.001}

// record is the status record STX ? SS CR. SS: bit 0 motion, 1 over
// capacity, 2 under zero, 3 outside zero capture range, 4 centre of zero,
// 5 and 6 always 1.
func (s *Scale) record() []byte {
	on := s.On
	ss := byte(0x60)
	set := func(cond bool, mask byte) {
		if cond {
			ss |= mask
		}
	}
	set(on(scalesim.Unstable), 0x01)
	set(on(scalesim.Overload), 0x02)
	set(on(scalesim.UnderZero), 0x04)
	set(on(scalesim.ZeroError), 0x08)
	set(!on(scalesim.Unstable) && !on(scalesim.Overload) && math.Abs(s.Shown()) < 1e-9, 0x10)
	return []byte(stx + "?" + string(ss) + cr)
}
