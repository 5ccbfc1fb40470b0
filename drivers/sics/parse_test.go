package sics

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
)

func TestWeight(t *testing.T) {
	cases := []struct {
		line   string
		weight float64
		unit   string
		moving bool
		over   bool
		under  bool
		bad    bool
		busy   bool
	}{
		{line: "S S     100.00 g", weight: 100, unit: "g"},
		{line: "S D     129.07 g", weight: 129.07, unit: "g", moving: true},
		{line: "S S    -12.345 kg", weight: -12.345, unit: "kg"},
		{line: "S I", busy: true},         // not executable now: busy, not motion
		{line: "S I 1.000 kg", bad: true}, // data after busy
		{line: "S +", over: true},
		{line: "S -", under: true},
		{line: "S S 1.5 lb", weight: 1.5, unit: "lb"},
		{line: "S S     100.00", bad: true},         // no unit
		{line: "S S     1e3 g", bad: true},          // not a display number
		{line: "S S     NaN g", bad: true},          // not a display number
		{line: "S S     1.0.0 g", bad: true},        // two points
		{line: "S Q     1.000 g", bad: true},        // unknown status
		{line: "S + 3.000 kg", bad: true},           // data after overload
		{line: "I4 A \"B525073136\"", bad: true},    // another command
		{line: "ES", bad: true},                     // general error
		{line: "EL", bad: true},                     // general error
		{line: "S S     100.00 g extra", bad: true}, // three fields
	}
	for _, c := range cases {
		l, err := ParseLine([]byte(c.line + "\r\n"))
		if err != nil {
			t.Errorf("ParseLine(%q): %v", c.line, err)
			continue
		}
		st, err := Weight(l)
		if c.busy {
			if !errors.Is(err, drivers.ErrBusy) || errors.Is(err, drivers.ErrProtocol) || st.Moving {
				t.Errorf("Weight(%q) = %+v, %v; want busy, not motion", c.line, st, err)
			}
			continue
		}
		if c.bad {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("Weight(%q) = %+v, %v; want a protocol error", c.line, st, err)
			}
			continue
		}
		if err != nil || st.Weight != c.weight || st.Unit != c.unit || st.Moving != c.moving || st.Overload != c.over || st.UnderZero != c.under {
			t.Errorf("Weight(%q) = %+v, %v", c.line, st, err)
		}
	}
}

func TestParseLine(t *testing.T) {
	good := map[string]Line{
		"I4 A \"B525073136\"": {ID: "I4", Status: "A", Data: "\"B525073136\""},
		"Z A":                 {ID: "Z", Status: "A"},
		"ES":                  {Status: "ES"},
		"S S     100.00 g":    {ID: "S", Status: "S", Data: "    100.00 g"},
	}
	for in, want := range good {
		if got, err := ParseLine([]byte(in)); err != nil || got != want {
			t.Errorf("ParseLine(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, in := range []string{"", "S", "s S 1 g", "ESX", "S  1", "I4 A \"\x01\"", "\xfe\x1f", "TOOLONG A"} {
		if l, err := ParseLine([]byte(in)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("ParseLine(%q) = %+v, %v; want a protocol error", in, l, err)
		}
	}
}

func TestIdentityAnswers(t *testing.T) {
	line := func(s string) Line {
		l, err := ParseLine([]byte(s))
		if err != nil {
			t.Fatalf("ParseLine(%q): %v", s, err)
		}
		return l
	}
	if s, ok, err := Text("I4", line(`I4 A "B525073136"`)); s != "B525073136" || !ok || err != nil {
		t.Errorf("I4: %q %v %v", s, ok, err)
	}
	for _, unsupported := range []string{"ES", "I3 L"} {
		if _, ok, err := Text("I3", line(unsupported)); ok || err != nil {
			t.Errorf("%q: ok=%v err=%v, want not implemented without error", unsupported, ok, err)
		}
	}
	if _, ok, err := Text("I4", line("I4 I")); ok || !errors.Is(err, drivers.ErrBusy) {
		t.Errorf("I4 I: ok=%v err=%v, want busy", ok, err)
	}
	for _, bad := range []string{`I4 A B525073136`, `I4 A "a" "b"`, `I2 A "x"`, `I4 B "x"`, `I4 A "open`} {
		if _, _, err := Text("I4", line(bad)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("Text(I4, %q): %v, want a protocol error", bad, err)
		}
	}
	for in, want := range map[string]Balance{
		"ICS469 OU 60.18 kg": {Type: "ICS469 OU", Capacity: "60.18 kg"},
		"XS6002S 6.1 kg":     {Type: "XS6002S", Capacity: "6.1 kg"},
		"PG503-S":            {Type: "PG503-S"},
		"Scale 12 pieces":    {Type: "Scale 12 pieces"},
	} {
		if got := ParseBalance(in); got != want {
			t.Errorf("ParseBalance(%q) = %+v, want %+v", in, got, want)
		}
	}
	for in, want := range map[string]struct {
		cmd  string
		more bool
	}{
		`I0 B 0 "I0"`:  {"I0", true},
		`I0 B 1 "SIR"`: {"SIR", true},
		`I0 A 0 "@"`:   {"@", false},
		`I0 A`:         {"", false},
	} {
		cmd, more, err := CommandList(line(in))
		if err != nil || cmd != want.cmd || more != want.more {
			t.Errorf("CommandList(%q) = %q %v %v", in, cmd, more, err)
		}
	}
	if _, _, err := CommandList(line(`I0 I`)); !errors.Is(err, drivers.ErrBusy) {
		t.Errorf("CommandList(I0 I): %v, want busy", err)
	}
	for _, bad := range []string{`I0 B`, `I0 B x "I1"`, `I0 B 0 I1`, `I1 B 0 "I1"`, `I0 X 0 "I1"`, "ES"} {
		if _, _, err := CommandList(line(bad)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("CommandList(%q): %v, want a protocol error", bad, err)
		}
	}
	for in, want := range map[string]ZeroResult{"Z A": Zeroed, "Z I": NotZeroed, "Z +": ZeroRangeErr, "Z -": ZeroRangeErr} {
		if got, err := Zero(line(in)); got != want || err != nil {
			t.Errorf("Zero(%q) = %v, %v", in, got, err)
		}
	}
	for _, bad := range []string{"Z X", "S A", "EL"} {
		if _, err := Zero(line(bad)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("Zero(%q): %v, want a protocol error", bad, err)
		}
	}
}

// seedLines adds every answer line of the transcripts to a fuzz corpus.
func seedLines(f *testing.F) {
	for _, resp := range transcript.Responses(transcript.Load(f, "testdata/transcripts.txt")) {
		for _, l := range bytes.SplitAfter(resp, []byte("\r\n")) {
			if len(l) > 0 {
				f.Add(l)
			}
		}
	}
}

// Whatever the bytes, parsing ends in a value or a protocol error, never a
// panic, and what it accepts is consistent.
func FuzzWeight(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLine(b)
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("ParseLine error %v is not a protocol error", err)
			}
			return
		}
		st, err := Weight(l)
		if errors.Is(err, drivers.ErrBusy) {
			if l.ID != "S" || l.Status != "I" || st.Moving || st.HasWeight {
				t.Fatalf("%q: busy from a line that is not S I, or busy with a reading: %+v", b, st)
			}
			return
		}
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("Weight error %v is not a protocol error", err)
			}
			return
		}
		kinds := 0 // a weight, an overload or an underload: one of them
		for _, k := range []bool{st.HasWeight, st.Overload, st.UnderZero} {
			if k {
				kinds++
			}
		}
		if kinds != 1 {
			t.Fatalf("%q: %d kinds of answer at once: %+v", b, kinds, st)
		}
		if st.HasWeight && (st.Unit == "" || strings.ContainsAny(st.Unit, " \r\n")) {
			t.Fatalf("%q: bad unit %q", b, st.Unit)
		}
	})
}

func FuzzIdentity(f *testing.F) {
	seedLines(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := ParseLine(b)
		if err != nil {
			return
		}
		for _, id := range []string{"I2", "I3", "I4"} {
			if s, ok, err := Text(id, l); err != nil && !errors.Is(err, drivers.ErrProtocol) && !errors.Is(err, drivers.ErrBusy) {
				t.Fatalf("Text: %v", err)
			} else if ok {
				ParseBalance(s)
			}
		}
		if _, _, err := CommandList(l); err != nil && !errors.Is(err, drivers.ErrProtocol) && !errors.Is(err, drivers.ErrBusy) {
			t.Fatalf("CommandList: %v", err)
		}
		if _, err := Zero(l); err != nil && !errors.Is(err, drivers.ErrProtocol) {
			t.Fatalf("Zero: %v", err)
		}
		if _, err := Quoted(l.Data); err != nil && !errors.Is(err, drivers.ErrProtocol) {
			t.Fatalf("Quoted: %v", err)
		}
	})
}
