package escpos

import (
	"fmt"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/wire"
)

// What a printer sends the POS application, mixed: answers to its own DLE
// EOT (0xx1xx10), GS I (one byte, or a 5F … 00 block whose text holds
// bytes that look like an ASB's first byte), XON/XOFF, and ASBs.
func TestLastASB(t *testing.T) {
	cases := []struct {
		name  string
		heard []byte
		want  string // "" for none
	}{
		{"nothing", nil, ""},
		{"all clear", []byte{0x10, 0x00, 0x00, 0x00}, "ASB 10 00 00 00"},
		{"the last of two", []byte{0x10, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00}, "ASB 30 00 00 00"},
		{"after DLE EOT answers", []byte{0x16, 0x12, 0x12, 0x12, 0x10, 0x00, 0x0C, 0x00}, "ASB 10 00 0C 00"},
		{"XOFF inside", []byte{0x18, 0x13, 0x00, 0x00, 0x00}, "ASB 18 00 00 00"},
		{"GS I text is no ASB", append([]byte{0x10, 0x00, 0x03, 0x00}, "\x5fTM-T88V 0P\x00"...), "ASB 10 00 03 00"},
		{"only DLE EOT answers", []byte{0x16, 0x12, 0x12, 0x1E}, ""},
		{"cut short", []byte{0x10, 0x00, 0x00}, ""},
		{"broken off by a DLE EOT answer", []byte{0x10, 0x00, 0x12, 0x00, 0x00}, ""},
		{"a new one after a broken one", []byte{0x10, 0x00, 0x30, 0x00, 0x00, 0x00}, "ASB 30 00 00 00"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, ok := LastASB(c.heard)
			got := ""
			if ok {
				got = a.String()
			}
			if got != c.want {
				t.Errorf("LastASB(% X) = %q, want %q", c.heard, got, c.want)
			}
		})
	}
}

// The ASB maps to the faults its DLE EOT counterpart does (reference 1.10).
func TestASBFaults(t *testing.T) {
	cases := []struct {
		asb    ASB
		drawer Drawer
		want   string
	}{
		{ASB{0x10, 0, 0, 0}, DrawerOpenHigh, ""},
		{ASB{0x38, 0, 0, 0}, DrawerOpenHigh, "cover_open"},
		{ASB{0x18, 0, 0x0C, 0}, DrawerOpenHigh, "paper_out"},
		{ASB{0x10, 0, 0x03, 0}, DrawerOpenHigh, "paper_low"},
		{ASB{0x18, 0x08, 0, 0}, DrawerOpenHigh, "cutter_error"},
		{ASB{0x18, 0x04, 0, 0}, DrawerOpenHigh, "mechanical_error"},
		{ASB{0x18, 0x40, 0, 0}, DrawerOpenHigh, "head_overheat"},
		{ASB{0x18, 0x20, 0, 0}, DrawerOpenHigh, "unrecoverable_error"},
		{ASB{0x58, 0, 0, 0}, DrawerOpenHigh, "offline"},
		{ASB{0x14, 0, 0, 0}, DrawerOpenHigh, "drawer_open"},
		{ASB{0x14, 0, 0, 0}, DrawerOpenLow, ""},
		{ASB{0x10, 0, 0, 0}, DrawerOpenLow, "drawer_open"},
		{ASB{0x14, 0, 0, 0}, DrawerIgnore, ""},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%s/%s", c.asb, c.drawer), func(t *testing.T) {
			var codes []string
			for _, f := range c.asb.Faults(c.drawer) {
				codes = append(codes, string(f.Code))
				if !strings.HasPrefix(f.Detail, "ASB byte") {
					t.Errorf("detail %q does not say where it comes from", f.Detail)
				}
			}
			if got := strings.Join(codes, " "); got != c.want {
				t.Errorf("faults %q, want %q", got, c.want)
			}
		})
	}
	if got := (ASB{0x38, 0, 0, 0}).Faults(DrawerIgnore); len(got) != 1 || got[0].Code != wire.FaultCoverOpen {
		t.Errorf("cover open and offline: %+v, want cover_open alone", got)
	}
}

// FuzzLastASB: whatever the printer sends, what is found is a well-formed
// ASB (the fixed bits right), and an ASB appended at the end is found.
func FuzzLastASB(f *testing.F) {
	f.Add([]byte{0x10, 0x00, 0x00, 0x00})
	f.Add([]byte{0x16, 0x12, 0x5F, 0x30, 0x00, 0x18, 0x13, 0x00, 0x00})
	f.Add([]byte{0x3D, 0x10, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if a, ok := LastASB(b); ok {
			if !isASBFirst(a[0]) || !isASBNext(a[1]) || !isASBNext(a[2]) || !isASBNext(a[3]) {
				t.Fatalf("LastASB found %s, not an ASB", a)
			}
			a.Faults(DrawerOpenHigh)
		}
		// An open GS I block swallows what follows up to its NUL; so does
		// the real printer's stream, which always closes its blocks.
		tail := append(append([]byte{}, b...), 0x00, 0x30, 0x00, 0x0C, 0x00)
		if a, ok := LastASB(tail); !ok || a != (ASB{0x30, 0x00, 0x0C, 0x00}) {
			t.Fatalf("an ASB after % X read as %v %v", b, a, ok)
		}
	})
}
