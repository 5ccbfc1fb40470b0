package nci

import "testing"

// LastAnswer reads the answers the scale sent the POS application.
func TestLastAnswer(t *testing.T) {
	const w = "\n0001.25lb\r\n00\r\x03"
	cases := []struct {
		name  string
		heard string
		want  string // Raw of the status found; "" for none
	}{
		{"nothing", "", ""},
		{"one answer, maybe a tail", w, ""},
		{"the second of two", w + "\n0002.50lb\r\n00\r\x03", "0002.50lb, status 30 30"},
		{"a tail first", "lb\r\n00\r\x03" + w, "0001.25lb, status 30 30"},
		{"status alone (SCP-02, moving)", w + "\nS10\r\x03", "status 31 30 (SCP-02)"},
		{"unknown skipped", w + w + "\n?\r\x03", "0001.25lb, status 30 30"},
		{"the last unterminated", w + w + "\n0003", "0001.25lb, status 30 30"},
		{"even parity in the status bytes", w + "\n0001.25lb\r\n\xb1\x30\r\x03", "0001.25lb, status 31 30"},
		{"wrong parity skipped", w + w + "\n0001.25lb\r\n\xb0\x30\r\x03", "0001.25lb, status 30 30"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := LastAnswer([]byte(c.heard), "E")
			got := ""
			if ok {
				got = st.Raw
			}
			if got != c.want {
				t.Errorf("LastAnswer(%q) = %q, want %q", c.heard, got, c.want)
			}
		})
	}
}

func FuzzLastAnswer(f *testing.F) {
	f.Add([]byte("\n0001.25lb\r\n00\r\x03\n0001.25lb\r\n00\r\x03"))
	f.Add([]byte("\r\x03\n\r\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, parity := range []string{"E", "O", "N"} {
			if st, ok := LastAnswer(b, parity); ok && st.Raw == "" {
				t.Fatalf("LastAnswer(%q, %s) found a status without its answer", b, parity)
			}
		}
	})
}
