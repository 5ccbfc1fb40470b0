package ssi

import (
	"bytes"
	"os"
	"testing"
)

func FuzzReadPacket(f *testing.F) {
	data, err := os.ReadFile("testdata/revision.txt")
	if err != nil {
		f.Fatal(err)
	}
	cases, err := parseTranscript(string(data))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range cases {
		for _, s := range c.steps {
			f.Add(s.request)
			f.Add(s.response)
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
