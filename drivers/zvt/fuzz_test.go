package zvt

import (
	"bytes"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/transcript"
)

// seeds adds every byte string from the transcripts.
func seeds(f *testing.F) {
	for _, path := range []string{"testdata/status_tcp.txt", "testdata/status_serial.txt"} {
		cases := transcript.Load(f, path)
		for _, c := range cases {
			for _, s := range c.Steps {
				f.Add(s.Request)
				f.Add(s.Response)
			}
		}
	}
}

func FuzzReadAPDU(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		a, err := ReadAPDU(bytes.NewReader(b))
		if err != nil {
			return
		}
		// What was read re-encodes to an APDU that reads back the same.
		again, err := ParseAPDU(a.Bytes())
		if err != nil || again.String() != a.String() {
			t.Fatalf("%s re-read as %s, %v", a, again, err)
		}
	})
}

func FuzzReadFrame(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		apdu, err := ReadFrame(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, esc := range []bool{false, true} {
			again, err := ReadFrame(bytes.NewReader(EncodeFrame(apdu, esc)))
			if err != nil || !bytes.Equal(again, apdu) {
				t.Fatalf("% X framed (escape %v) reads back as % X, %v", apdu, esc, again, err)
			}
		}
	})
}

func FuzzParseCompletion(f *testing.F) {
	seeds(f)
	f.Add([]byte{0xF0, 0xF0, 0xF3, 'a', 'b', 'c', 0x00, 0x29, 0x12, 0x34, 0x56, 0x78, 0x06, 0x82, 0x00, 0x01, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := parseCompletion(b)
		if err == nil && len(b) == 0 {
			t.Fatalf("empty completion parsed as %+v", c)
		}
		_ = faultsFor(c.Status)
	})
}
