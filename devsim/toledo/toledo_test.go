package toledo_test

import (
	"testing"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/devsim/scalesim"
	"github.com/storewatch/storewatch/devsim/toledo"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
)

var cr = []byte{0x0D}

// The records in the protocol reference (3.3, B.5), byte for byte, on a
// line without parity bits so they compare directly.
func TestReferenceBytes(t *testing.T) {
	kg := toledo.Config{Parity: scalesim.None, Load: 1.25}
	cases := []struct {
		name   string
		cfg    toledo.Config
		faults []string
		req    string
		want   []byte
	}{
		{"weight", kg, nil, "W", []byte("\x02001.25\r")},
		{"weight in pounds", toledo.Config{Parity: scalesim.None, Load: 0.45359237 * 12.5, Unit: "lb"}, nil, "W", []byte("\x02012.50\r")},
		{"weight in grams", toledo.Config{Parity: scalesim.None, Load: 1.25, Unit: "g"}, nil, "W", []byte("\x02001250\r")},
		{"high resolution", kg, nil, "H", []byte("\x020001.25\r")},
		{"in motion (B.5)", kg, []string{scalesim.Unstable}, "W", []byte{0x02, 0x3F, 0x61, 0x0D}},
		{"over capacity", kg, []string{scalesim.Overload}, "W", []byte{0x02, 0x3F, 0x62, 0x0D}},
		{"under zero", kg, []string{scalesim.UnderZero}, "W", []byte{0x02, 0x3F, 0x64, 0x0D}},
		{"outside zero capture range", kg, []string{scalesim.ZeroError}, "W", []byte{0x02, 0x3F, 0x68, 0x0D}},
		{"zero, then centre of zero", kg, nil, "Z", []byte{0x02, 0x3F, 0x70, 0x0D}},
		{"zero refused in motion", kg, []string{scalesim.Unstable}, "Z", []byte{0x02, 0x3F, 0x61, 0x0D}},
		{"unknown command", kg, nil, "Q", []byte{0x02, 0x3F, 0x60, 0x0D}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dev := toledo.New(c.cfg)
			for _, f := range c.faults {
				if err := dev.Switchboard().Set(f, true); err != nil {
					t.Fatal(err)
				}
			}
			p := simtest.Open(t, dev)
			if got := p.Ask([]byte(c.req), cr); string(got) != string(c.want) {
				t.Errorf("%q -> % X, want % X", c.req, got, c.want)
			}
		})
	}
}

// On the default 7E1 line the in-motion record 02 3F 61 0D carries its
// even parity bits: 82 3F E1 8D.
func TestEvenParityOnTheLine(t *testing.T) {
	dev := toledo.New(toledo.Config{})
	dev.Switchboard().Set(scalesim.Unstable, true)
	p := simtest.Open(t, dev)
	if got, want := p.Ask([]byte("W"), cr), []byte{0x82, 0x3F, 0xE1, 0x8D}; string(got) != string(want) {
		t.Errorf("% X, want % X", got, want)
	}
}

func TestCRIsIgnored(t *testing.T) {
	p := simtest.Open(t, toledo.New(toledo.Config{Parity: scalesim.None, Load: 2}))
	if got := p.Ask([]byte("W\r"), cr); string(got) != "\x02002.00\r" {
		t.Errorf("W CR -> %q", got)
	}
	if got := p.Ask([]byte("W"), cr); string(got) != "\x02002.00\r" {
		t.Errorf("the CR after W was answered: next answer %q", got)
	}
}

func TestGarbage(t *testing.T) {
	dev := toledo.New(toledo.Config{})
	dev.Switchboard().Set(devsim.FaultGarbage, true)
	p := simtest.Open(t, dev)
	if got := p.Ask([]byte("W"), cr); got[0]&0x7F == 0x02 {
		t.Errorf("garbage looks like a record: % X", got)
	}
}
