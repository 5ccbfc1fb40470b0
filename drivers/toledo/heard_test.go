package toledo

import "testing"

// LastRecord reads the answers the scale sent the POS application.
func TestLastRecord(t *testing.T) {
	cases := []struct {
		name  string
		heard string
		want  string // Raw of the status found; "" for none
	}{
		{"nothing", "", ""},
		{"one weight", "\x02001.25\r", "weight 001.25"},
		{"the last of several", "\x02001.25\r\x02?a\r\x02002.50\r", "weight 002.50"},
		{"status record", "\x02001.25\r\x02?b\r", "status record ?b (0x62)"},
		{"the last unterminated", "\x02001.25\r\x02002", "weight 001.25"},
		{"a tail first", "25\r\x02?a\r", "status record ?a (0x61)"},
		{"parity bit set", "\x02\xb0\xb0\xb1.25\r", "weight 001.25"},
		{"broken record skipped", "\x02001.25\r\x02x\r", "weight 001.25"},
		{"no STX", "001.25\r", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := LastRecord([]byte(c.heard), "kg")
			got := ""
			if ok {
				got = st.Raw
			}
			if got != c.want {
				t.Errorf("LastRecord(%q) = %q, want %q", c.heard, got, c.want)
			}
		})
	}
}

func FuzzLastRecord(f *testing.F) {
	f.Add([]byte("\x02001.25\r\x02?a\r"))
	f.Add([]byte("\x02\r\r\x02"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := LastRecord(b, "kg")
		if ok && st.Raw == "" {
			t.Fatalf("LastRecord(%q) found a status without its record", b)
		}
	})
}
