package transcript

import (
	"bytes"
	"errors"
	"os"
	"testing"
)

func TestParseAndPlay(t *testing.T) {
	cases, err := Parse([]byte(`
# comment
=== one
> 10 04 01
< 12
> "~HS"
< silence
! faults paper_low
`))
	if err != nil || len(cases) != 1 {
		t.Fatalf("Parse = %v, %v", cases, err)
	}
	c := cases[0]
	if c.Name != "one" || len(c.Steps) != 2 || !bytes.Equal(c.Steps[1].Request, []byte("~HS")) || !c.Steps[1].Silent || c.Expect["faults"] != "paper_low" {
		t.Fatalf("case = %+v", c)
	}
	s := NewScript(c)
	buf := make([]byte, 4)
	if _, err := s.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("read before any request: %v, want a timeout", err)
	}
	s.Write([]byte{0x10, 0x04})
	s.Write([]byte{0x01})
	if n, err := s.Read(buf); err != nil || n != 1 || buf[0] != 0x12 {
		t.Errorf("answer = % X, %v", buf[:n], err)
	}
	if _, err := s.Write([]byte("~HQ")); err == nil || s.Err() == nil {
		t.Error("a request off the script was accepted")
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{"> 10", "=== x\n< 12", "=== x\n> 1G", "=== x\n? 12", "=== x\n> \"open"} {
		if _, err := Parse([]byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}
