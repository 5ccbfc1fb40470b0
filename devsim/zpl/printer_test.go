package zpl

import (
	"bytes"
	"context"
	"io"
	"testing"
)

func talk(t *testing.T, p *Printer, req string) string {
	t.Helper()
	var out bytes.Buffer
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader([]byte(req)), &out}
	if err := p.Serve(context.Background(), rw); err != io.EOF {
		t.Fatalf("Serve: %v", err)
	}
	return out.String()
}

// The canonical all-clear ~HS bytes of reference 2.2.
func TestHostStatusAllClear(t *testing.T) {
	want := "\x02030,0,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,0,0,1,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n"
	if got := talk(t, New(), "~HS"); got != want {
		t.Errorf("~HS = %q\nwant %q", got, want)
	}
}

func TestHostStatusFlags(t *testing.T) {
	p := New()
	p.Switchboard().Set(PaperOut, true)
	p.Switchboard().Set(CoverOpen, true)
	want := "\x02030,1,0,1245,000,0,0,0,000,0,0,0\x03\r\n\x02001,0,1,0,1,2,6,0,00000000,1,000\x03\r\n\x020000,0\x03\r\n"
	if got := talk(t, p, "^XA^FDhello^FS^XZ~HS"); got != want {
		t.Errorf("~HS = %q\nwant %q", got, want)
	}
	p.Switchboard().Set(SilentHSOnError, true)
	if got := talk(t, p, "~HS"); got != "" {
		t.Errorf("~HS during media out with the silent switch = %q, want nothing", got)
	}
}

// The guide's ~HQES example: errors 5 (media out + head open), warning 2.
func TestErrorStatus(t *testing.T) {
	p := New()
	for _, f := range []string{PaperOut, CoverOpen, CleanHead} {
		p.Switchboard().Set(f, true)
	}
	want := "\x02\r\nPRINTER STATUS\r\n   ERRORS:         1 00000000 00000005\r\n   WARNINGS:       1 00000000 00000002\r\n\x03"
	if got := talk(t, p, "~HQES"); got != want {
		t.Errorf("~HQES = %q\nwant %q", got, want)
	}
	p.Switchboard().Set(NoHQES, true)
	if got := talk(t, p, "~HQES"); got != "" {
		t.Errorf("~HQES on old firmware = %q", got)
	}
}

func TestHostID(t *testing.T) {
	if got := talk(t, New(), "~HI"); got != "\x02ZD420,V84.20.18Z,8,8192KB\x03\r\n" {
		t.Errorf("~HI = %q", got)
	}
}

// The guide's ~HQ example layout: the title line, then the number.
func TestSerialNumber(t *testing.T) {
	if got := talk(t, New(), "~HQSN"); got != "\x02\r\nSERIAL NUMBER\r\nD2J184502117\r\n\x03" {
		t.Errorf("~HQSN = %q", got)
	}
	p := New()
	p.Switchboard().Set(NoHQSN, true)
	if got := talk(t, p, "~HQSN"); got != "" {
		t.Errorf("~HQSN on firmware without it = %q", got)
	}
}

// Motor over temperature: ~HQES error 20 and ~HS's one over-temperature
// flag (string 1, field l); under temperature is ~HS field k.
func TestTemperatures(t *testing.T) {
	p := New()
	p.Switchboard().Set(MotorOverheat, true)
	if got := talk(t, p, "~HQES"); !bytes.Contains([]byte(got), []byte("ERRORS:         1 00000000 00000020")) {
		t.Errorf("~HQES with the motor over temperature = %q", got)
	}
	if got := talk(t, p, "~HS"); !bytes.HasPrefix([]byte(got), []byte("\x02030,0,0,1245,000,0,0,0,000,0,0,1\x03")) {
		t.Errorf("~HS with the motor over temperature = %q", got)
	}
	p = New()
	p.Switchboard().Set(HeadCold, true)
	if got := talk(t, p, "~HS"); !bytes.HasPrefix([]byte(got), []byte("\x02030,0,0,1245,000,0,0,0,000,0,1,0\x03")) {
		t.Errorf("~HS with the head under temperature = %q", got)
	}
}
