package transcript

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

func TestBytes(t *testing.T) {
	for in, want := range map[string]string{
		`"S +" 0D 0A`:                "S +\r\n",
		`"I4 A \"B525073136\"" 0D0A`: "I4 A \"B525073136\"\r\n",
		`02 3F 61 0D`:                "\x02?a\r",
		`0A "0001.25lb" 0D 0A 30 30`: "\n0001.25lb\r\n00",
		`10 04 01`:                   "\x10\x04\x01",
	} {
		got, err := Bytes(in)
		if err != nil || string(got) != want {
			t.Errorf("Bytes(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{`"open`, `0G`, `123`, `"bad \q"`} {
		if got, err := Bytes(bad); err == nil {
			t.Errorf("Bytes(%s) = %q, want an error", bad, got)
		}
	}
}

func TestParse(t *testing.T) {
	cases, err := Parse("t.txt", []byte(`
# comment
=== defaults
> "I4" 0D 0A
< "I4 A \"X\"" 0D 0A

=== one
> 10 04 01
< 12
< 13
> "~HS"
< silence
! faults paper_low
! measured weight_kg=1.5
`))
	if err != nil || len(cases) != 1 {
		t.Fatalf("Parse = %+v, %v; want one case (defaults are not a case)", cases, err)
	}
	c := cases[0]
	if c.Name != "one" || c.String() != "t.txt:7 one" || len(c.Steps) != 2 || len(c.Defaults) != 1 {
		t.Fatalf("case = %+v", c)
	}
	if !bytes.Equal(c.Steps[0].Response, []byte{0x12, 0x13}) || !bytes.Equal(c.Steps[1].Request, []byte("~HS")) || !c.Steps[1].Silent {
		t.Errorf("steps = %+v", c.Steps)
	}
	if c.Expect["faults"] != "paper_low" || c.Expect["measured"] != "weight_kg=1.5" {
		t.Errorf("expectations = %v", c.Expect)
	}
	if got := Responses(cases); len(got) != 2 || string(got[1]) != "I4 A \"X\"\r\n" {
		t.Errorf("Responses = %q, want the case's answer and the defaults'", got)
	}
	if got := Conversations(cases); len(got) != 1 || !bytes.Equal(got[0], []byte{0x12, 0x13}) {
		t.Errorf("Conversations = %q", got)
	}
}

func TestParseRejects(t *testing.T) {
	for _, in := range []string{
		"> 10",                     // before a case
		"=== x\n< 12",              // answer without request
		"=== x\n> 1G",              // bad hex
		"=== x\n? 12",              // unknown line
		"=== x\n> \"open",          // unterminated string
		"=== x\n! a 1\n! a 2",      // the same key twice
		"=== x\nfaults: paper_low", // not a transcript line
	} {
		if _, err := Parse("t", []byte(in)); err == nil {
			t.Errorf("Parse(%q) accepted", in)
		}
	}
}

func TestScriptPlaysInOrder(t *testing.T) {
	cases, err := Parse("t", []byte("=== one\n> 10 04 01\n< 12\n> \"~HS\"\n< silence\n"))
	if err != nil {
		t.Fatal(err)
	}
	s := NewScript(cases[0])
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

func TestReplayAnswersByContent(t *testing.T) {
	cases, err := Parse("t", []byte("=== defaults\n> \"I\"\n< \"id\"\n=== one\n> \"A\"\n< \"a\"\n> \"B\"\n< \"b\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	r := NewReplay(cases[0])
	dev, drv := pipe()
	done := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go func() { done <- r.Serve(ctx, dev) }()
	for _, x := range []struct{ ask, want string }{{"B", "b"}, {"I", "id"}, {"A", "a"}, {"I", "id"}} {
		drv.Write([]byte(x.ask))
		got := make([]byte, len(x.want))
		if _, err := io.ReadFull(drv, got); err != nil || string(got) != x.want {
			t.Fatalf("asked %q: %q, %v; want %q", x.ask, got, err, x.want)
		}
	}
	cancel()
	drv.Close()
	<-done
	if got := r.Received(); len(got) != 4 {
		t.Errorf("Received = %q", got)
	}
}

// pipe is a connected pair of in-memory byte streams.
func pipe() (io.ReadWriter, io.ReadWriteCloser) {
	ar, bw := io.Pipe()
	br, aw := io.Pipe()
	return struct {
		io.Reader
		io.Writer
	}{ar, aw}, rwc{br, bw}
}

type rwc struct {
	*io.PipeReader
	*io.PipeWriter
}

func (p rwc) Close() error { p.PipeReader.Close(); return p.PipeWriter.Close() }

func TestCheck(t *testing.T) {
	fault := func(code wire.FaultCode) wire.Fault {
		info, _ := wire.Lookup(code)
		return wire.Fault{Code: code, Severity: info.Severity, Remedy: info.Remedy, Detail: "seen"}
	}
	reading := drivers.Reading{
		Faults:       []wire.Fault{fault(wire.FaultScaleOverload)},
		Identity:     &wire.Identity{Vendor: "Mettler Toledo", Extra: map[string]string{"capacity": "60 kg"}},
		Measurements: map[string]float64{"weight_kg": 1.5},
	}
	timeout := &os.PathError{Op: "read", Err: os.ErrDeadlineExceeded}
	for _, tc := range []struct {
		name   string
		expect map[string]string
		err    error
		fails  bool
	}{
		{"all as expected", map[string]string{"faults": "scale_overload", "identity": "vendor=Mettler_Toledo capacity=60_kg", "measured": "weight_kg=1.5", "not_measured": "weight_stable"}, nil, false},
		{"nothing expected", map[string]string{}, nil, false},
		{"other faults", map[string]string{"faults": "none"}, nil, true},
		{"other identity", map[string]string{"identity": "vendor=Zebra"}, nil, true},
		{"other weight", map[string]string{"measured": "weight_kg=1.6"}, nil, true},
		{"missing measurement", map[string]string{"measured": "weight_stable=1"}, nil, true},
		{"unwanted measurement", map[string]string{"not_measured": "weight_kg"}, nil, true},
		{"an unexpected error", map[string]string{}, timeout, true},
		{"the expected timeout", map[string]string{"error": "timeout"}, timeout, false},
		{"a timeout where a protocol error is due", map[string]string{"error": "protocol"}, timeout, true},
		{"success where a timeout is due", map[string]string{"error": "timeout"}, nil, true},
	} {
		var rec recorder
		Check(&rec, Case{Name: tc.name, Expect: tc.expect}, reading, tc.err)
		if rec.failed != tc.fails {
			t.Errorf("%s: failed = %v, want %v (%v)", tc.name, rec.failed, tc.fails, rec.msgs)
		}
	}
}

// recorder is a testing.TB that notes failures instead of failing.
type recorder struct {
	testing.TB
	failed bool
	msgs   []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failed = true
	r.msgs = append(r.msgs, format)
}
