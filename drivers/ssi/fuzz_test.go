package ssi

import (
	"bytes"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/transcript"
)

func FuzzReadPacket(f *testing.F) {
	cases := transcript.Load(f, "testdata/revision.txt")
	for _, c := range cases {
		for _, s := range c.Steps {
			f.Add(s.Request)
			f.Add(s.Response)
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ReadPacket(bytes.NewReader(b))
		if err != nil {
			return
		}
		if got := p.Bytes(); !bytes.Equal(got, b[:len(got)]) {
			t.Fatalf("packet % X re-encodes as % X", b[:len(got)], got)
		}
		_, _ = parseRevision(p.Data)
	})
}
