package nci

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"strings"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
)

// Memory faults this emulator knows besides the shared scale faults and
// the common garbage, silent and slow.
const (
	RAMError    = "ram_error"    // status byte 1 bit 2
	EEPROMError = "eeprom_error" // status byte 1 bit 3
	ROMError    = "rom_error"    // status byte 2 bit 2
)

// Config describes the emulated scale. Zero fields take the defaults.
type Config struct {
	// StatusBytes is 2 (the default) or 3. The initial zero error has a bit
	// only in byte 3, so with two bytes scale_zero_error shows only as a
	// refused zero.
	StatusBytes int
	// SCP02 selects the NCI-ECR variant: status prefixed with "S", units in
	// upper case, and only the status when the weight is negative, moving,
	// out of capacity or has a zero error.
	SCP02 bool
	// Unit is lb (the default), kg, oz, g or lb-oz.
	Unit string
	// Load is the weight on the platter in kg at start.
	Load float64
	// Parity is the line's: Even (the default, 9600 7E1), Odd (7O1), or
	// None for an 8N1 scale.
	Parity scalesim.Parity
	// StatusParity, when set (Even or Odd), puts that parity into bit 7 of
	// each status byte itself, as the status-byte table defines bit 7 ("7 |
	// parity | parity | parity"), while the rest of the frame goes as Parity
	// says. With Parity None this is a scale that sends 8-bit characters
	// and computes the status bytes' parity on its own: at zero on an even
	// line it sends B2 30 where a stripped line shows 32 30.
	StatusParity scalesim.Parity
}

// Scale is an emulated NCI scale.
type Scale struct {
	scalesim.Scale
	cfg  Config
	unit string
}

// New returns a scale with cfg's settings.
func New(cfg Config) *Scale {
	if cfg.StatusBytes == 0 {
		cfg.StatusBytes = 2
	}
	if cfg.Unit == "" {
		cfg.Unit = "lb"
	}
	if cfg.Parity == 0 {
		cfg.Parity = scalesim.Even
	}
	return &Scale{
		Scale: scalesim.NewScale(cfg.Load, scalesim.Calibration, RAMError, EEPROMError, ROMError),
		cfg:   cfg,
		unit:  cfg.Unit,
	}
}

func init() {
	devsim.Register("nci", func() devsim.Switchable { return New(Config{Load: 0.567, StatusBytes: 3}) })
}

// Serve answers commands, each a letter ended by CR.
func (s *Scale) Serve(ctx context.Context, rw io.ReadWriter) error {
	return s.Scale.Serve(ctx, rw, s.cfg.Parity, splitCR, s.answer)
}

// splitCR splits the input at CR: an NCI command is a letter and CR.
func splitCR(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\r'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

const (
	lf  = "\n"
	cr  = "\r"
	etx = "\x03"
)

func (s *Scale) answer(cmd string) []byte {
	switch strings.Trim(cmd, "\n ") {
	case "":
		return nil
	case "W":
		return s.weight(false)
	case "H":
		return s.weight(true)
	case "S":
		return []byte(lf + s.status() + cr + etx)
	case "Z":
		if s.CanZero() {
			s.Platter().SetZero()
		}
		return []byte(lf + s.status() + cr + etx)
	case "U":
		if s.unit == "kg" {
			s.unit = "lb"
		} else {
			s.unit = "kg"
		}
		return []byte(lf + s.unitText() + cr + lf + s.status() + cr + etx)
	}
	return []byte(lf + "?" + cr + etx)
}

// weight answers W (or H, one more decimal):
// LF <weight><unit> CR LF <status> CR ETX.
func (s *Scale) weight(high bool) []byte {
	on := s.On
	if s.cfg.SCP02 && (s.Shown() < 0 || on(scalesim.Unstable) || on(scalesim.Overload) || on(scalesim.UnderZero) || on(scalesim.ZeroError)) {
		return []byte(lf + s.status() + cr + etx)
	}
	return []byte(lf + s.display(high) + cr + lf + s.status() + cr + etx)
}

// display is what the scale's display shows, with its unit. Over capacity
// the display shows no number, only marks (as many indicators do).
func (s *Scale) display(high bool) string {
	if s.On(scalesim.Overload) {
		return "^^^^.^^" + s.unitText()
	}
	kg := s.Shown()
	if s.unit == "lb-oz" {
		oz := math.Abs(kg) / 0.028349523125
		lb := math.Floor(oz / 16)
		return fmt.Sprintf("%02.0flb %04.1foz", lb, oz-16*lb)
	}
	v := kg / perKg[s.unit]
	if high {
		return fmt.Sprintf("%08.3f%s", v, s.unitText())
	}
	return fmt.Sprintf("%07.2f%s", v, s.unitText())
}

var perKg = map[string]float64{"lb": 0.45359237, "kg": 1, "oz": 0.028349523125, "g": 0.001}

func (s *Scale) unitText() string {
	if s.cfg.SCP02 {
		return strings.ToUpper(s.unit)
	}
	return s.unit
}

// status builds the status bytes (bit 0 = LSB; bits 4 and 5 always 1;
// byte 2 bit 6 says a third byte follows).
func (s *Scale) status() string {
	on := s.On
	bit := func(cond bool, mask byte) byte {
		if cond {
			return mask
		}
		return 0
	}
	moving := on(scalesim.Unstable)
	atZero := !moving && !on(scalesim.Overload) && math.Abs(s.Shown()) < 1e-9
	b1 := 0x30 | bit(moving, 0x01) | bit(atZero, 0x02) | bit(on(RAMError), 0x04) | bit(on(EEPROMError), 0x08)
	b2 := 0x30 | bit(on(scalesim.UnderZero), 0x01) | bit(on(scalesim.Overload), 0x02) | bit(on(ROMError), 0x04) |
		bit(on(scalesim.Calibration), 0x08) | bit(s.cfg.StatusBytes >= 3, 0x40)
	out := []byte{b1, b2}
	if s.cfg.StatusBytes >= 3 {
		out = append(out, 0x30|bit(on(scalesim.ZeroError), 0x08)) // low range, gross
	}
	if s.cfg.StatusParity != 0 {
		out = s.cfg.StatusParity.Encode(out)
	}
	if s.cfg.SCP02 {
		return "S" + string(out)
	}
	return string(out)
}
