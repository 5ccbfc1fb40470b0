package snmpprinter

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func talk(t *testing.T, p *Printer, in string) string {
	t.Helper()
	var out bytes.Buffer
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader([]byte(in)), &out}
	if err := p.Serve(context.Background(), rw); err != io.EOF {
		t.Fatalf("Serve: %v", err)
	}
	return out.String()
}

// The pass_persist transcript of reference 7.3.
func TestPassPersist(t *testing.T) {
	p := New()
	p.Switchboard().Set(PaperOut, true)
	got := talk(t, p, "PING\nget\n.1.3.6.1.2.1.25.3.5.1.2.1\ngetnext\n.1.3.6.1.2.1.25.3.5.1\nget\n.1.3.6.1.2.1.99.0\nset\n.1.3.6.1.2.1.43.5.1.1.17.1\nstring X\n")
	want := "PONG\n.1.3.6.1.2.1.25.3.5.1.2.1\noctet\n40 00\n.1.3.6.1.2.1.25.3.5.1.1.1\ninteger\n1\nNONE\nnot-writable\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

// Appendix B.4 octets, produced by switching faults.
func TestErrorStateOctets(t *testing.T) {
	cases := []struct {
		faults []string
		want   string
	}{
		{nil, "00 00"},
		{[]string{PaperOut}, "40 00"},
		{[]string{CoverOpen}, "08 00"},
		{[]string{PaperLow}, "80 00"},
		{[]string{Offline, CoverOpen}, "0A 00"},
		{[]string{PaperJam}, "04 00"},
		{[]string{PaperOut, Offline}, "42 00"},
	}
	for _, c := range cases {
		p := New()
		for _, f := range c.faults {
			p.Switchboard().Set(f, true)
		}
		got := talk(t, p, "get\n.1.3.6.1.2.1.25.3.5.1.2.1\n")
		if want := ".1.3.6.1.2.1.25.3.5.1.2.1\noctet\n" + c.want + "\n"; got != want {
			t.Errorf("%v: %q, want %q", c.faults, got, want)
		}
	}
}

// A walk by getnext visits every object once, in OID order, and ends.
// Warming up: hrDeviceStatus down(5), hrPrinterStatus warmup(5), offline bit.
func TestWarmingUp(t *testing.T) {
	p := New()
	p.Switchboard().Set(WarmingUp, true)
	got := talk(t, p, "get\n.1.3.6.1.2.1.25.3.2.1.5.1\nget\n.1.3.6.1.2.1.25.3.5.1.1.1\nget\n.1.3.6.1.2.1.25.3.5.1.2.1\n")
	want := ".1.3.6.1.2.1.25.3.2.1.5.1\ninteger\n5\n.1.3.6.1.2.1.25.3.5.1.1.1\ninteger\n5\n.1.3.6.1.2.1.25.3.5.1.2.1\noctet\n02 00\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}

func TestWalk(t *testing.T) {
	p := New()
	oid, seen := ".1.3.6.1.2.1.25.3", 0
	for {
		out := talk(t, p, "getnext\n"+oid+"\n")
		if out == "NONE\n" {
			break
		}
		lines := bytes.Split([]byte(out), []byte("\n"))
		next := string(lines[0])
		if !less(parse(oid), parse(next)) {
			t.Fatalf("getnext %s went back to %s", oid, next)
		}
		oid = next
		if seen++; seen > 100 {
			t.Fatal("walk does not end")
		}
	}
	if seen != len(p.table()) {
		t.Errorf("walk saw %d objects, table has %d", seen, len(p.table()))
	}
}

func TestControlFile(t *testing.T) {
	p := New()
	p.Control = filepath.Join(t.TempDir(), "faults")
	os.WriteFile(p.Control, []byte("paper_low\nno_such_fault\ndelay 1ms\n"), 0o600)
	if got := talk(t, p, "get\n.1.3.6.1.2.1.25.3.5.1.2.1\n"); got != ".1.3.6.1.2.1.25.3.5.1.2.1\noctet\n80 00\n" {
		t.Errorf("with paper_low in the control file: %q", got)
	}
	os.Remove(p.Control)
	if got := talk(t, p, "get\n.1.3.6.1.2.1.25.3.5.1.2.1\n"); got != ".1.3.6.1.2.1.25.3.5.1.2.1\noctet\n00 00\n" {
		t.Errorf("without a control file: %q", got)
	}
}
