package nci_test

import (
	"testing"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/nci"
	"github.com/storewatch/storewatch/devsim/scalesim"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
)

var etx = []byte{0x03}

const lb = 0.45359237

// The answers in the protocol reference (3.2 transcript, appendix B.5), byte
// for byte, on an 8N1 line (no parity bit) so they compare directly.
func TestReferenceBytes(t *testing.T) {
	plain := nci.Config{Parity: scalesim.None, Load: 1.25 * lb}
	three := nci.Config{Parity: scalesim.None, Load: 1.25 * lb, StatusBytes: 3}
	scp02 := nci.Config{Parity: scalesim.None, Load: 1.25 * lb, SCP02: true}
	cases := []struct {
		name   string
		cfg    nci.Config
		faults []string
		req    string
		want   string
	}{
		{"weight, 1.25 lb stable", plain, nil, "W\r", "\n0001.25lb\r\n00\r\x03"},
		{"status, stable", plain, nil, "S\r", "\n00\r\x03"},
		{"status, in motion", plain, []string{scalesim.Unstable}, "S\r", "\n10\r\x03"},
		{"status, over capacity", plain, []string{scalesim.Overload}, "S\r", "\n02\r\x03"},
		{"status, under capacity", plain, []string{scalesim.UnderZero}, "S\r", "\n01\r\x03"},
		{"status, faulty calibration", plain, []string{scalesim.Calibration}, "S\r", "\n08\r\x03"},
		{"status, RAM error", plain, []string{nci.RAMError}, "S\r", "\n40\r\x03"},
		{"status, EEPROM error", plain, []string{nci.EEPROMError}, "S\r", "\n80\r\x03"},
		{"status, ROM error", plain, []string{nci.ROMError}, "S\r", "\n04\r\x03"},
		{"three bytes, byte 2 says another follows", three, nil, "S\r", "\n0p0\r\x03"},
		{"three bytes, initial zero error", three, []string{scalesim.ZeroError}, "S\r", "\n0p8\r\x03"},
		{"zero, then at zero", plain, nil, "Z\r", "\n20\r\x03"},
		{"zero refused while moving", plain, []string{scalesim.Unstable}, "Z\r", "\n10\r\x03"},
		{"high resolution", plain, nil, "H\r", "\n0001.250lb\r\n00\r\x03"},
		{"unknown command", plain, nil, "X\r", "\n?\r\x03"},
		{"change units", plain, nil, "U\r", "\nkg\r\n00\r\x03"},
		{"SCP-02 weight", scp02, nil, "W\r", "\n0001.25LB\r\nS00\r\x03"},
		{"SCP-02 only status while moving", scp02, []string{scalesim.Unstable}, "W\r", "\nS10\r\x03"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := nci.New(c.cfg)
			for _, f := range c.faults {
				if err := dev.Switchboard().Set(f, true); err != nil {
					t.Fatal(err)
				}
			}
			p := simtest.Open(t, dev)
			if got := p.Ask([]byte(c.req), etx); string(got) != c.want {
				t.Errorf("%q -> %q, want %q", c.req, got, c.want)
			}
		})
	}
}

// Status byte values from B.5: 30 30 stable, 32 30 at zero, 31 30 moving,
// 30 32 over capacity.
func TestStatusBytesB5(t *testing.T) {
	dev := nci.New(nci.Config{Parity: scalesim.None})
	p := simtest.Open(t, dev)
	if got := p.Ask([]byte("S\r"), etx); string(got) != "\n\x32\x30\r\x03" {
		t.Errorf("empty platter: % X, want at zero 32 30", got)
	}
}

// The default line is 7E1: bit 7 of every byte is its even parity bit.
func TestEvenParityOnTheLine(t *testing.T) {
	p := simtest.Open(t, nci.New(nci.Config{Load: 1.25 * lb}))
	got := p.Ask([]byte("W\r"), etx)
	want := []byte{0x0A, 0x30, 0x30, 0x30, 0xB1, 0x2E, 0xB2, 0x35, 0x6C, 0xE2, 0x8D, 0x0A, 0x30, 0x30, 0x8D, 0x03}
	if string(got) != string(want) {
		t.Errorf("got  % X\nwant % X", got, want)
	}
}

// A scale that computes the status bytes' parity itself (the table's bit 7)
// and sends everything else as plain 8-bit ASCII: at zero is B2 30, over
// capacity 30 B2, under capacity 30 B1 on an even line; odd parity sets bit
// 7 where even does not.
func TestParityInTheStatusBytesOnly(t *testing.T) {
	cases := []struct {
		name   string
		parity scalesim.Parity
		fault  string
		want   string
	}{
		{"at zero, even", scalesim.Even, "", "\n\xb20\r\x03"},
		{"over capacity, even", scalesim.Even, scalesim.Overload, "\n0\xb2\r\x03"},
		{"under capacity, even", scalesim.Even, scalesim.UnderZero, "\n0\xb1\r\x03"},
		{"at zero, odd", scalesim.Odd, "", "\n2\xb0\r\x03"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := nci.New(nci.Config{Parity: scalesim.None, StatusParity: c.parity})
			if c.fault != "" {
				dev.Switchboard().Set(c.fault, true)
			}
			p := simtest.Open(t, dev)
			if got := p.Ask([]byte("S\r"), etx); string(got) != c.want {
				t.Errorf("S -> % X, want % X", got, c.want)
			}
		})
	}
	dev := nci.New(nci.Config{Parity: scalesim.None, StatusParity: scalesim.Even, Load: 1.25 * lb})
	p := simtest.Open(t, dev)
	if got, want := p.Ask([]byte("W\r"), etx), "\n0001.25lb\r\n00\r\x03"; string(got) != want {
		t.Errorf("W -> %q, want the weight in plain ASCII: %q", got, want)
	}
}

func TestMotionWobbles(t *testing.T) {
	dev := nci.New(nci.Config{Parity: scalesim.None, Load: 1})
	dev.Switchboard().Set(scalesim.Unstable, true)
	p := simtest.Open(t, dev)
	if a, b := p.Ask([]byte("W\r"), etx), p.Ask([]byte("W\r"), etx); string(a) == string(b) {
		t.Errorf("a moving weight read the same twice: %q", a)
	}
}

func TestGarbage(t *testing.T) {
	dev := nci.New(nci.Config{})
	dev.Switchboard().Set(devsim.FaultGarbage, true)
	p := simtest.Open(t, dev)
	if got := p.Ask([]byte("W\r"), etx); got[0] == '\n' {
		t.Errorf("garbage looks like a frame: % X", got)
	}
}
