package scalesim

import (
	"bytes"
	"testing"
)

func TestParityEncode(t *testing.T) {
	rec := []byte{0x02, '?', 'a', 0x0D} // Toledo 8213 "in motion", reference B.5
	cases := map[Parity][]byte{
		None: {0x02, 0x3F, 0x61, 0x0D},
		Even: {0x82, 0x3F, 0xE1, 0x8D},
		Odd:  {0x02, 0xBF, 0x61, 0x0D},
	}
	for p, want := range cases {
		got := p.Encode(rec)
		if !bytes.Equal(got, want) {
			t.Errorf("%c: % X, want % X", p, got, want)
		}
		if back := p.Decode(got); !bytes.Equal(back, rec) {
			t.Errorf("%c: decoded % X", p, back)
		}
	}
}

func TestPlatter(t *testing.T) {
	p := NewPlatter(1.5)
	if p.Shown(false) != 1.5 {
		t.Errorf("shown %v", p.Shown(false))
	}
	if a, b := p.Shown(true), p.Shown(true); a == b {
		t.Errorf("a moving weight read %v twice", a)
	}
	p.SetZero()
	p.Put(2)
	if got := p.Shown(false); got != 0.5 {
		t.Errorf("after zero at 1.5 and a load of 2: %v", got)
	}
}
