package toledo

import (
	"errors"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
	"github.com/storewatch/storewatch/internal/testkit/scaletest"
)

func TestStatusRecord(t *testing.T) {
	cases := []struct {
		ss                                   byte
		moving, over, under, zeroErr, atZero bool
	}{
		{0x60, false, false, false, false, false},
		{0x61, true, false, false, false, false},
		{0x62, false, true, false, false, false},
		{0x64, false, false, true, false, false},
		{0x68, false, false, false, true, false},
		{0x70, false, false, false, false, true},
		{0x7F, true, true, true, true, true},
	}
	for _, c := range cases {
		r, err := ParseRecord([]byte{0x02, '?', c.ss, 0x0D})
		if err != nil {
			t.Errorf("0x%02X: %v", c.ss, err)
			continue
		}
		st, err := Status(r, "kg")
		if err != nil || st.HasWeight || st.Moving != c.moving || st.Overload != c.over || st.UnderZero != c.under || st.ZeroError != c.zeroErr || st.AtZero != c.atZero {
			t.Errorf("0x%02X: %+v, %v", c.ss, st, err)
		}
	}
}

func TestWeightRecord(t *testing.T) {
	for in, want := range map[string]float64{
		"\x02001.25\r":  1.25,
		"\x020001.25\r": 1.25,
		"\x02001250\r":  1250,
		"\x02  1.25\r":  1.25,
		"\x02000000\r":  0,
	} {
		r, err := ParseRecord([]byte(in))
		if err != nil {
			t.Errorf("%q: %v", in, err)
			continue
		}
		st, err := Status(r, "lb")
		if err != nil || !st.HasWeight || st.Weight != want || st.Unit != "lb" || st.Moving {
			t.Errorf("%q: %+v, %v", in, st, err)
		}
	}
	for _, bad := range []string{"", "\x02\r", "\x02?\r", "\x02?a", "\x02?aa\r", "\x02?\x01\r", "\x02?\xe1\r", "\x02.\r", "\x021.2.3\r", "\x02-1.25\r", "\x02123456789\r", "001.25\r", "\x02 \r"} {
		if r, err := ParseRecord([]byte(bad)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("ParseRecord(%q) = %+v, %v; want a protocol error", bad, r, err)
		}
	}
}

// From the bytes on the line to a status: a status or a protocol error,
// never a panic, and what is accepted fits the record.
func FuzzRecord(f *testing.F) {
	scaletest.FuzzSevenBit(f, "testdata/transcripts.txt", func(raw []byte, parity string) ([]byte, error) { return scale.StripParity(raw, parity, nil) }, func(b []byte) (scale.Status, error) {
		r, err := ParseRecord(b)
		if err != nil {
			return scale.Status{}, err
		}
		return Status(r, "kg")
	}, func(t *testing.T, frame []byte, st scale.Status) {
		r, _ := ParseRecord(frame)
		if st.HasWeight == r.IsStatus {
			t.Fatalf("%q: a weight from a status record, or none from a weight record", frame)
		}
		if st.HasWeight && (st.Weight < 0 || st.Moving || st.Overload) {
			t.Fatalf("%q: a weight record read as %+v", frame, st)
		}
	})
}
