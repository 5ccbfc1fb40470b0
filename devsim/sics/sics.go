package sics

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
)

// Faults this emulator knows besides the scale faults in scalesim and the
// common garbage, silent and slow.
const (
	// Busy answers every command with status I (not executable now), as
	// while taring: "any cmd while busy → <ID> I" (reference 3.1). SI, S
	// and SIR answer "S I", I4 answers "I4 I", Z "Z I".
	Busy = "busy"
	// WrongIdentity answers I2 and I4 (and @) as another scale would: the
	// device was swapped.
	WrongIdentity = "wrong_identity"
)

// Config describes the emulated scale. Zero fields take the defaults.
type Config struct {
	Serial, OtherSerial string // I4 answer; OtherSerial under wrong_identity
	Type, OtherType     string // I2 type
	Capacity            string // I2 capacity with unit, "6.2 kg"
	Software            string // I3
	SoftwareID          string // I5
	Levels              string // I1 first field
	Versions            [4]string
	Unit                string  // weight unit: kg or g
	Decimals            int     // decimals shown
	Load                float64 // kg on the platter at start
	// Parity models the line: None for 8N1 (the MT-SICS default); Even or
	// Odd for a scale set to 7E1/7O1, sending the parity bit in bit 7.
	Parity scalesim.Parity
	// StabilityTimeout is how long S waits for a stable weight before it
	// gives up with "S I".
	StabilityTimeout time.Duration
	// StreamInterval is the pause between SIR answers.
	StreamInterval time.Duration
}

func (c Config) withDefaults() Config {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&c.Serial, "B525073136")
	def(&c.OtherSerial, "C118004527")
	def(&c.Type, "ICS425s")
	def(&c.OtherType, "ICS689")
	def(&c.Capacity, "6.2 kg")
	def(&c.Software, "4.10.1.2")
	def(&c.SoftwareID, "1.3.45")
	def(&c.Levels, "01")
	def(&c.Unit, "kg")
	if c.Versions == [4]string{} {
		c.Versions = [4]string{"2.20", "2.00", "", ""}
	}
	if c.Decimals == 0 {
		c.Decimals = 3
		if c.Unit == "g" {
			c.Decimals = 1
		}
	}
	if c.Parity == 0 {
		c.Parity = scalesim.None
	}
	if c.StabilityTimeout == 0 {
		c.StabilityTimeout = 200 * time.Millisecond
	}
	if c.StreamInterval == 0 {
		c.StreamInterval = 100 * time.Millisecond
	}
	return c
}

// Scale is an emulated MT-SICS scale.
type Scale struct {
	scalesim.Scale
	cfg Config
}

// New returns a scale with cfg's settings.
func New(cfg Config) *Scale {
	cfg = cfg.withDefaults()
	return &Scale{Scale: scalesim.NewScale(cfg.Load, Busy, WrongIdentity), cfg: cfg}
}

func init() {
	devsim.Register("sics", func() devsim.Switchable { return New(Config{Load: 1.25}) })
}

// Serve answers MT-SICS commands, one per CR LF terminated line.
func (s *Scale) Serve(ctx context.Context, rw io.ReadWriter) error {
	cmds, errc := scalesim.Commands(ctx, rw, s.cfg.Parity, bufio.ScanLines)
	var stream <-chan time.Time // SIR: repeat SI until S, SI, SIR or @
	var ticker *time.Ticker
	stop := func() {
		if ticker != nil {
			ticker.Stop()
			ticker, stream = nil, nil
		}
	}
	defer stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-stream:
			if err := s.send(ctx, rw, s.immediate()); err != nil {
				return err
			}
		case cmd, ok := <-cmds:
			if !ok {
				return <-errc
			}
			cmd = strings.TrimRight(cmd, "\r")
			switch strings.Fields(cmd + " ")[0] {
			case "S", "SI", "@":
				stop()
			case "SIR":
				stop()
				ticker = time.NewTicker(s.cfg.StreamInterval)
				stream = ticker.C
			}
			if err := s.send(ctx, rw, s.answer(ctx, cmd)); err != nil {
				return err
			}
		}
	}
}

func (s *Scale) send(ctx context.Context, w io.Writer, lines []string) error {
	var b bytes.Buffer
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	return scalesim.Answer(ctx, w, s.Switchboard(), s.cfg.Parity, b.Bytes())
}

// answer returns the response lines to one command.
func (s *Scale) answer(ctx context.Context, cmd string) []string {
	on := s.On
	serial, typ := s.cfg.Serial, s.cfg.Type
	if on(WrongIdentity) {
		serial, typ = s.cfg.OtherSerial, s.cfg.OtherType
	}
	quote := func(id, text string) []string { return []string{fmt.Sprintf("%s A %q", id, text)} }
	if on(Busy) {
		if id, ok := busyID[cmd]; ok {
			return []string{id + " I"}
		}
	}
	switch cmd {
	case "":
		return nil
	case "I0":
		return s.commandList()
	case "I1":
		v := s.cfg.Versions
		return []string{fmt.Sprintf("I1 A %q %q %q %q %q", s.cfg.Levels, v[0], v[1], v[2], v[3])}
	case "I2":
		return quote("I2", typ+" "+s.cfg.Capacity)
	case "I3":
		return quote("I3", s.cfg.Software)
	case "I4", "@":
		return quote("I4", serial)
	case "I5":
		return quote("I5", s.cfg.SoftwareID)
	case "SI", "SIR":
		return s.immediate()
	case "S":
		return s.stable(ctx)
	case "Z":
		return []string{"Z " + s.zero(false)}
	case "ZI":
		return []string{"ZI " + s.zero(true)}
	}
	return []string{"ES"}
}

// busyID is the answer ID of each command that a busy scale refuses with
// status I. "@" (reset) is not refused: it cancels what the scale was doing.
var busyID = map[string]string{
	"I0": "I0", "I1": "I1", "I2": "I2", "I3": "I3", "I4": "I4", "I5": "I5",
	"S": "S", "SI": "S", "SIR": "S", "Z": "Z", "ZI": "ZI",
}

var implemented = []struct {
	level int
	cmd   string
}{{0, "I0"}, {0, "I1"}, {0, "I2"}, {0, "I3"}, {0, "I4"}, {0, "I5"}, {0, "S"}, {0, "SI"}, {0, "SIR"}, {0, "Z"}, {0, "ZI"}, {0, "@"}}

// commandList answers I0: one "I0 B" line per command, then "I0 A".
func (s *Scale) commandList() []string {
	var out []string
	for _, c := range implemented {
		out = append(out, fmt.Sprintf("I0 B %d %q", c.level, c.cmd))
	}
	return append(out, "I0 A")
}

// immediate answers SI: the weight now, stable or not.
func (s *Scale) immediate() []string {
	if st, ok := s.exception(); ok {
		return []string{"S " + st}
	}
	moving := s.On(scalesim.Unstable)
	status := "S"
	if moving {
		status = "D"
	}
	return []string{"S " + status + " " + s.format(s.Platter().Shown(moving))}
}

// stable answers S: waits for stability, and gives up with "S I".
func (s *Scale) stable(ctx context.Context) []string {
	if st, ok := s.exception(); ok {
		return []string{"S " + st}
	}
	if s.On(scalesim.Unstable) {
		t := time.NewTimer(s.cfg.StabilityTimeout)
		defer t.Stop()
		select {
		case <-t.C:
		case <-ctx.Done():
		}
		return []string{"S I"}
	}
	return []string{"S S " + s.format(s.Platter().Shown(false))}
}

// exception is the status that replaces a weight: overload, underload, busy.
func (s *Scale) exception() (string, bool) {
	switch on := s.On; {
	case on(Busy):
		return "I", true
	case on(scalesim.Overload):
		return "+", true
	case on(scalesim.UnderZero):
		return "-", true
	}
	return "", false
}

// zero answers Z (or ZI when immediate): A done; I not possible now; + or -
// outside the zero-setting range. ZI zeroes a moving weight too and says
// whether it was stable (S) or dynamic (D).
func (s *Scale) zero(immediate bool) string {
	on := s.On
	switch {
	case on(Busy):
		return "I"
	case on(scalesim.ZeroError), on(scalesim.Overload):
		return "+"
	case on(scalesim.UnderZero):
		return "-"
	case on(scalesim.Unstable) && !immediate:
		return "I"
	}
	s.Platter().SetZero()
	switch {
	case !immediate:
		return "A"
	case on(scalesim.Unstable):
		return "D"
	}
	return "S"
}

// format renders a weight as MT-SICS does: the value right-aligned in ten
// characters, a space, the unit.
func (s *Scale) format(kg float64) string {
	v := kg
	if s.cfg.Unit == "g" {
		v = kg * 1000
	}
	return fmt.Sprintf("%10.*f %s", s.cfg.Decimals, v, s.cfg.Unit)
}
