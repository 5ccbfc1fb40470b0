package sics

import (
	"testing"
)

// LastWeight reads a stream or answers the scale sent the POS application.
func TestLastWeight(t *testing.T) {
	cases := []struct {
		name  string
		heard string
		want  string // Raw of the status found; "" for none
	}{
		{"nothing", "", ""},
		{"one line, maybe a tail", "S S      1.250 kg\r\n", ""},
		{"a stream", "S S      1.250 kg\r\nS S      1.250 kg\r\nS D      1.300 kg\r\n", "S D      1.300 kg"},
		{"the last line unterminated", "kg\r\nS S      1.250 kg\r\nS S      1.2", "S S      1.250 kg"},
		{"a tail first", "  1.250 kg\r\nS +\r\n", "S +"},
		{"busy lines skipped", "\r\nS S      2.000 kg\r\nS I\r\n", "S S      2.000 kg"},
		{"other answers skipped", "\r\nS -\r\nI4 A \"B525073136\"\r\n", "S -"},
		{"parity bits cleared", "\r\n\xd3 \xd3      1.000 kg\r\n", "S S      1.000 kg"},
		{"garbage", "\r\n\x00\x01\x02\r\nZZZ\r\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := LastWeight([]byte(c.heard))
			got := ""
			if ok {
				got = st.Raw
			}
			if got != c.want {
				t.Errorf("LastWeight(%q) = %q, want %q", c.heard, got, c.want)
			}
		})
	}
}

func FuzzLastWeight(f *testing.F) {
	seedLines(f)
	f.Add([]byte("\r\nS S      1.250 kg\r\nS D"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := LastWeight(b)
		if ok && !st.HasWeight && !st.Overload && !st.UnderZero {
			t.Fatalf("LastWeight(%q) found %+v, which says nothing", b, st)
		}
	})
}
