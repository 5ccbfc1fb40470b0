package sics_test

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
	"github.com/storewatch/storewatch/devsim/sics"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
)

var crlf = []byte("\r\n")

// The answers in the protocol reference (3.1, appendix B.5), byte for byte.
func TestReferenceBytes(t *testing.T) {
	cases := []struct {
		name   string
		cfg    sics.Config
		faults []string
		req    string
		want   string
	}{
		{"stable weight, B.5", sics.Config{Unit: "g", Decimals: 2, Load: 0.1}, nil, "SI\r\n", "S S     100.00 g\r\n"},
		{"stable weight with S", sics.Config{Unit: "g", Decimals: 2, Load: 0.1}, nil, "S\r\n", "S S     100.00 g\r\n"},
		{"serial number", sics.Config{}, nil, "I4\r\n", "I4 A \"B525073136\"\r\n"},
		{"reset answers with the serial", sics.Config{}, nil, "@\r\n", "I4 A \"B525073136\"\r\n"},
		{"balance data", sics.Config{Type: "ICS469 OU", Capacity: "60.18 kg"}, nil, "I2\r\n", "I2 A \"ICS469 OU 60.18 kg\"\r\n"},
		{"software", sics.Config{}, nil, "I3\r\n", "I3 A \"4.10.1.2\"\r\n"},
		{"overload", sics.Config{}, []string{scalesim.Overload}, "SI\r\n", "S +\r\n"},
		{"underload", sics.Config{}, []string{scalesim.UnderZero}, "SI\r\n", "S -\r\n"},
		{"busy", sics.Config{}, []string{sics.Busy}, "SI\r\n", "S I\r\n"},
		{"busy: any command is not executable", sics.Config{}, []string{sics.Busy}, "I4\r\n", "I4 I\r\n"},
		{"busy: the command list too", sics.Config{}, []string{sics.Busy}, "I0\r\n", "I0 I\r\n"},
		{"busy: zero", sics.Config{}, []string{sics.Busy}, "Z\r\n", "Z I\r\n"},
		{"S gives up on a moving weight", sics.Config{}, []string{scalesim.Unstable}, "S\r\n", "S I\r\n"},
		{"unknown command", sics.Config{}, nil, "XYZ\r\n", "ES\r\n"},
		{"zero", sics.Config{}, nil, "Z\r\n", "Z A\r\n"},
		{"zero while moving", sics.Config{}, []string{scalesim.Unstable}, "Z\r\n", "Z I\r\n"},
		{"zero error", sics.Config{}, []string{scalesim.ZeroError}, "Z\r\n", "Z +\r\n"},
		{"zero below range", sics.Config{}, []string{scalesim.UnderZero}, "Z\r\n", "Z -\r\n"},
		{"zero immediately while moving", sics.Config{}, []string{scalesim.Unstable}, "ZI\r\n", "ZI D\r\n"},
		{"wrong identity", sics.Config{}, []string{sics.WrongIdentity}, "I4\r\n", "I4 A \"C118004527\"\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := sics.New(c.cfg)
			for _, f := range c.faults {
				if err := dev.Switchboard().Set(f, true); err != nil {
					t.Fatal(err)
				}
			}
			p := simtest.Open(t, dev)
			if got := p.Ask([]byte(c.req), crlf); string(got) != c.want {
				t.Errorf("%q -> %q, want %q", c.req, got, c.want)
			}
		})
	}
}

func TestDynamicWeightMovesAndIsTenWide(t *testing.T) {
	dev := sics.New(sics.Config{Load: 1.25})
	dev.Switchboard().Set(scalesim.Unstable, true)
	p := simtest.Open(t, dev)
	a := p.Ask([]byte("SI\r\n"), crlf)
	b := p.Ask([]byte("SI\r\n"), crlf)
	if string(a[:4]) != "S D " || len(a) != len("S D ")+10+len(" kg\r\n") {
		t.Errorf("dynamic answer %q: want \"S D \" and a ten-character value", a)
	}
	if string(a) == string(b) {
		t.Errorf("a moving weight read the same twice: %q", a)
	}
}

func TestCommandList(t *testing.T) {
	p := simtest.Open(t, sics.New(sics.Config{}))
	first := p.Ask([]byte("I0\r\n"), crlf)
	if string(first) != "I0 B 0 \"I0\"\r\n" {
		t.Fatalf("first I0 line %q", first)
	}
	for range 30 {
		l, err := p.Read(crlf, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if string(l) == "I0 A\r\n" {
			return
		}
	}
	t.Fatal("I0 list did not end with \"I0 A\"")
}

func TestZeroMakesTheWeightZero(t *testing.T) {
	p := simtest.Open(t, sics.New(sics.Config{Load: 2}))
	p.Ask([]byte("Z\r\n"), crlf)
	if got := p.Ask([]byte("SI\r\n"), crlf); string(got) != "S S      0.000 kg\r\n" {
		t.Errorf("after Z: %q", got)
	}
}

func TestStreamingUntilSI(t *testing.T) {
	p := simtest.Open(t, sics.New(sics.Config{Load: 1}))
	p.Ask([]byte("SIR\r\n"), crlf)
	for range 2 { // it keeps sending without being asked
		if l, err := p.Read(crlf, 5*time.Second); err != nil || string(l) != "S S      1.000 kg\r\n" {
			t.Fatalf("streamed %q, %v", l, err)
		}
	}
}

// A 7E1 line: every byte carries its even parity bit in bit 7.
func TestSevenBitEvenParity(t *testing.T) {
	p := simtest.Open(t, sics.New(sics.Config{Parity: scalesim.Even}))
	got := p.Ask([]byte("I4\r\n"), crlf)
	want := scalesim.Even.Encode([]byte("I4 A \"B525073136\"\r\n"))
	if string(got) != string(want) {
		t.Errorf("got % X\nwant % X", got, want)
	}
	if got[0] != 'I'|0x80 { // 'I' = 0x49 has three ones: parity bit set
		t.Errorf("first byte 0x%02X, want 0xC9", got[0])
	}
}

func TestMisbehaviour(t *testing.T) {
	dev := sics.New(sics.Config{})
	p := simtest.Open(t, dev)
	dev.Switchboard().Set(devsim.FaultSilent, true)
	p.Silent([]byte("SI\r\n"), 100*time.Millisecond)
	dev.Switchboard().Set(devsim.FaultSilent, false)
	dev.Switchboard().Set(devsim.FaultGarbage, true)
	if got := p.Ask([]byte("SI\r\n"), crlf); string(got) == "S S      0.000 kg\r\n" {
		t.Errorf("garbage fault sent a valid answer")
	}
}
