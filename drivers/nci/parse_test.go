package nci

import (
	"errors"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
	"github.com/storewatch/storewatch/internal/testkit/scaletest"
)

func TestStatusBits(t *testing.T) {
	cases := []struct {
		frame string
		want  string // the status fields set, in a fixed order
	}{
		{"\n00\r\x03", ""},
		{"\n10\r\x03", "moving"},
		{"\n20\r\x03", "at-zero"},
		{"\n01\r\x03", "under"},
		{"\n02\r\x03", "over"},
		{"\n40\r\x03", "cal:RAM error"},
		{"\n80\r\x03", "cal:EEPROM error"},
		{"\n04\r\x03", "cal:ROM error"},
		{"\n08\r\x03", "cal:faulty calibration"},
		{"\n0p8\r\x03", "zero-error"},
		{"\n0p3\r\x03", ""}, // high range: information
		{"\n0p4\r\x03", ""}, // net weight: information
		{"\n?0\r\x03", "moving at-zero cal:RAM error cal:EEPROM error"},
		{"\nS10\r\x03", "moving"},
	}
	for _, c := range cases {
		a, err := ParseAnswer([]byte(c.frame))
		if err != nil {
			t.Errorf("ParseAnswer(%q): %v", c.frame, err)
			continue
		}
		st, err := Status(a)
		if err != nil {
			t.Errorf("Status(%q): %v", c.frame, err)
			continue
		}
		if got := describe(st); got != c.want {
			t.Errorf("%q: %q, want %q", c.frame, got, c.want)
		}
	}
}

func describe(st scale.Status) string {
	var out []string
	for _, f := range []struct {
		on   bool
		name string
	}{{st.Moving, "moving"}, {st.AtZero, "at-zero"}, {st.UnderZero, "under"}, {st.Overload, "over"}, {st.ZeroError, "zero-error"}} {
		if f.on {
			out = append(out, f.name)
		}
	}
	for _, c := range st.Calibration {
		out = append(out, "cal:"+c)
	}
	return strings.Join(out, " ")
}

func TestWeightField(t *testing.T) {
	cases := []struct {
		field string
		v     float64
		unit  string
	}{
		{"0001.25lb", 1.25, "lb"},
		{"-001.25lb", -1.25, "lb"},
		{"0001.25LB", 1.25, "LB"},
		{" 12.5 kg", 12.5, "kg"},
		{"0250g", 250, "g"},
		{"02lb 12.5oz", 2.78125, "lb"},
		{"-02lb 08.0oz", -2.5, "lb"},
	}
	for _, c := range cases {
		v, unit, ok := parseWeight(c.field)
		if !ok || v != c.v || unit != c.unit {
			t.Errorf("parseWeight(%q) = %v %q %v", c.field, v, unit, ok)
		}
	}
	for _, bad := range []string{"", "lb", "1.2.3lb", "^^^^.^^lb", "12", "1e3lb", "--1lb"} {
		if v, unit, ok := parseWeight(bad); ok {
			t.Errorf("parseWeight(%q) = %v %q", bad, v, unit)
		}
	}
}

func TestParseAnswerRejects(t *testing.T) {
	for _, bad := range []string{
		"", "\n", "\r\x03", "\n\r\x03", "00\r\x03", "\n00\r", "\n0\r\x03", "\n00000\r\x03",
		"\n\r\n00\r\x03", "\na\r\nb\r\n00\r\x03", "\n0\x01lb\r\n00\r\x03", "\n@0\r\x03", "\n00\r\x03x",
	} {
		if a, err := ParseAnswer([]byte(bad)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("ParseAnswer(%q) = %+v, %v; want a protocol error", bad, a, err)
		}
	}
}

// Whatever arrives, the path from the bytes on the line to a status ends in
// a status or a protocol error, and a status it accepts fits the bytes.
func FuzzAnswer(f *testing.F) {
	scaletest.FuzzSevenBit(f, "testdata/transcripts.txt", func(raw []byte, parity string) ([]byte, error) { return scale.StripParity(raw, parity, StatusBytes) }, func(b []byte) (scale.Status, error) {
		a, err := ParseAnswer(b)
		if err != nil {
			return scale.Status{}, err
		}
		return Status(a)
	}, func(t *testing.T, frame []byte, st scale.Status) {
		a, _ := ParseAnswer(frame)
		if len(a.Status) < 2 || len(a.Status) > maxStatus {
			t.Fatalf("%q: accepted %d status bytes", frame, len(a.Status))
		}
		if st.HasWeight && !scale.KnownUnit(st.Unit) {
			t.Fatalf("%q: accepted unit %q", frame, st.Unit)
		}
		if st.HasWeight && a.Weight == "" {
			t.Fatalf("%q: a weight from a status-only answer", frame)
		}
	})
}
