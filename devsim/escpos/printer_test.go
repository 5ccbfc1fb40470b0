package escpos

import (
	"bytes"
	"context"
	"io"
	"testing"
)

// conversation feeds req to the printer and returns everything it answered.
func conversation(t *testing.T, p *Printer, req []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	rw := struct {
		io.Reader
		io.Writer
	}{bytes.NewReader(req), &out}
	if err := p.Serve(context.Background(), rw); err != io.EOF {
		t.Fatalf("Serve: %v", err)
	}
	return out.Bytes()
}

// The bytes come from the reference's worked table (1.2) and appendix B.1.
// The four questions arrive back to back in one read, as the driver sends
// them (1.2: Epson takes up to four DLE EOT back to back), and each is
// answered in order.
func TestStatusBytes(t *testing.T) {
	dleEOT := []byte{0x10, 0x04, 1, 0x10, 0x04, 2, 0x10, 0x04, 3, 0x10, 0x04, 4}
	cases := []struct {
		faults []string
		want   []byte
	}{
		{nil, []byte{0x12, 0x12, 0x12, 0x12}},
		{[]string{DrawerHigh}, []byte{0x16, 0x12, 0x12, 0x12}},
		{[]string{CoverOpen}, []byte{0x1A, 0x16, 0x12, 0x12}},
		{[]string{PaperLow}, []byte{0x12, 0x12, 0x12, 0x1E}},
		{[]string{PaperOut}, []byte{0x1A, 0x32, 0x12, 0x72}},
		{[]string{PaperOut, PaperLow}, []byte{0x1A, 0x32, 0x12, 0x7E}},
		{[]string{CutterError}, []byte{0x1A, 0x52, 0x1A, 0x12}},
		{[]string{HeadOverheat}, []byte{0x1A, 0x52, 0x52, 0x12}},
		{[]string{UnrecoverableError}, []byte{0x1A, 0x52, 0x32, 0x12}},
		{[]string{MechanicalError}, []byte{0x1A, 0x52, 0x16, 0x12}},
	}
	for _, c := range cases {
		p := New()
		for _, f := range c.faults {
			if err := p.Switchboard().Set(f, true); err != nil {
				t.Fatal(err)
			}
		}
		if got := conversation(t, p, dleEOT); !bytes.Equal(got, c.want) {
			t.Errorf("%v: DLE EOT 1-4 = % X, want % X", c.faults, got, c.want)
		}
	}
}

func TestPrinterID(t *testing.T) {
	p := New()
	got := conversation(t, p, []byte{0x1D, 0x49, 0x43, 0x1D, 0x49, 0x02})
	want := append([]byte("\x5fTM-T88V\x00"), 0x02)
	if !bytes.Equal(got, want) {
		t.Errorf("GS I 67, GS I 2 = % X, want % X", got, want)
	}
	p.Switchboard().Set(NoPrinterInfo, true)
	if got := conversation(t, p, []byte{0x1D, 0x49, 0x43, 0x1D, 0x49, 0x01}); !bytes.Equal(got, []byte{0x20}) {
		t.Errorf("without printer info: % X, want only the model ID 20", got)
	}
}

func TestPrintDataNeedsNoAnswer(t *testing.T) {
	p := New()
	got := conversation(t, p, []byte("\x1b@Hello\n\x1bd\x03\x1dV\x00\x10\x04\x01"))
	if !bytes.Equal(got, []byte{0x12}) {
		t.Errorf("answers = % X, want only the DLE EOT 1 status 12", got)
	}
}

func TestASB(t *testing.T) {
	p := New()
	if got := conversation(t, p, []byte{0x1D, 0x61, 0x0F}); !bytes.Equal(got, []byte{0x10, 0, 0, 0}) {
		t.Errorf("ASB all clear = % X, want 10 00 00 00", got)
	}
}
