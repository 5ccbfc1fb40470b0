package usbinv

import (
	"encoding/hex"
	"os"
	"regexp"
	"strings"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	b, err := hex.DecodeString(strings.Join(strings.Fields(s), ""))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// fixtureDescriptors returns the report descriptors in the sysfs fixtures.
func fixtureDescriptors(t testing.TB) [][]byte {
	data, err := os.ReadFile("testdata/sys/store.txtar")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`(?m)^-- \S+/report_descriptor \(hex\) --\n([0-9a-f ]+)$`)
	var out [][]byte
	for _, m := range re.FindAllStringSubmatch(string(data), -1) {
		out = append(out, unhex(t, m[1]))
	}
	if len(out) < 4 {
		t.Fatalf("found %d descriptors in the fixture", len(out))
	}
	return out
}

func TestParseReportDescriptor(t *testing.T) {
	for _, c := range []struct {
		name, desc string
		want       string // applications, or "error"
	}{
		{"boot keyboard", "05 01 09 06 a1 01 05 07 19 e0 29 e7 15 00 25 01 75 01 95 08 81 02 c0", "[0001:0006]"},
		{"HID POS scanner, two-byte page", "06 8c 00 09 02 a1 01 09 12 a1 02 c0 c0", "[008c:0002]"},
		{"HID POS scanner, one-byte page", "05 8c 09 02 a1 01 c0", "[008c:0002]"},
		{"four-byte usage carries its page", "05 01 0b 02 00 8c 00 a1 01 c0", "[008c:0002]"},
		{"keyboard and mouse", "05 01 09 06 a1 01 c0 09 02 a1 01 09 01 a1 00 c0 c0", "[0001:0006 0001:0002]"},
		{"inner collections are not applications", "05 01 09 02 a1 01 09 01 a1 01 c0 c0", "[0001:0002]"},
		{"push and pop keep the page", "05 8c a4 05 01 b4 09 02 a1 01 c0", "[008c:0002]"},
		{"long item skipped", "fe 02 10 aa bb 05 8d 09 20 a1 01 c0", "[008d:0020]"},
		{"cut short", "05 01 09", "error"},
		{"end without collection", "c0", "error"},
		{"pop without push", "b4", "error"},
	} {
		rd, err := ParseReportDescriptor(unhex(t, c.desc))
		got := "error"
		if err == nil {
			var s []string
			for _, u := range rd.Applications {
				s = append(s, u.String())
			}
			got = "[" + strings.Join(s, " ") + "]"
		}
		if got != c.want {
			t.Errorf("%s: %s (%v), want %s", c.name, got, err, c.want)
		}
	}
}

func TestParseHexAttr(t *testing.T) {
	for in, want := range map[string]uint64{"05e0\n": 0x05e0, "03\n": 3, " ff ": 0xff, "1D6B": 0x1d6b} {
		if got, err := ParseHexAttr(in, 16); err != nil || got != want {
			t.Errorf("ParseHexAttr(%q) = %x, %v", in, got, err)
		}
	}
	for _, in := range []string{"", "\n", "12345", "xyz", "-1", "0x12"} {
		if _, err := ParseHexAttr(in, 16); err == nil {
			t.Errorf("ParseHexAttr(%q) accepted", in)
		}
	}
	if _, err := ParseHexAttr("100", 8); err == nil {
		t.Error("three digits accepted for an 8-bit attribute")
	}
}

// TestWindowsIDs reads the ids SetupAPI reports, and builds devices from
// them, here on any OS.
func TestWindowsIDs(t *testing.T) {
	usb := []winNode{
		{InstanceID: `USB\VID_05E0&PID_1200\S4711`, Manufacturer: "Symbol", Description: "USB Input Device", CompatIDs: []string{`USB\Class_03&SubClass_01&Prot_01`, `USB\Class_03`}},
		{InstanceID: `USB\VID_0C2E&PID_0B81\19283`, Description: "USB Composite Device", CompatIDs: []string{`USB\COMPOSITE`}},
		{InstanceID: `USB\VID_0C2E&PID_0B81&MI_00\6&2A3B4C&0&0000`, CompatIDs: []string{`USB\Class_03&SubClass_00&Prot_00`}},
		{InstanceID: `USB\VID_0C2E&PID_0B81&MI_01\6&2A3B4C&0&0001`, CompatIDs: []string{`USB\Class_02&SubClass_02&Prot_01`}},
		{InstanceID: `USB\VID_0B00&PID_0080\5&1F2E3D&0&2`, Description: "Ingenico"},
		{InstanceID: `USB\ROOT_HUB30\4&1234&0&0`},
	}
	hid := []winNode{
		{InstanceID: `HID\VID_05E0&PID_1200\7&AA&0&0000`, HardwareIDs: []string{`HID\VID_05E0&PID_1200&REV_0100`, `HID_DEVICE_SYSTEM_KEYBOARD`, `HID_DEVICE_UP:0001_U:0006`}},
		{InstanceID: `HID\VID_0C2E&PID_0B81&MI_00\7&BB&0&0000`, HardwareIDs: []string{`HID_DEVICE_UP:008C_U:0002`, `HID_DEVICE`}},
	}
	devs := assembleWindows(usb, hid)
	var got []string
	for _, d := range devs {
		m, _ := DetectMode(d)
		got = append(got, d.ID()+" "+d.Serial+" "+string(m))
	}
	want := "05e0:1200 S4711 keyboard|0c2e:0b81 19283 hid_pos|0b00:0080  "
	if strings.Join(got, "|") != want {
		t.Errorf("devices %q, want %q", strings.Join(got, "|"), want)
	}
	if _, ok := parseInstanceID(`USB\VID_XYZ&PID_1200\1`); ok {
		t.Error("bad VID accepted")
	}
}

func FuzzParseReportDescriptor(f *testing.F) {
	for _, d := range fixtureDescriptors(f) {
		f.Add(d)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rd, err := ParseReportDescriptor(b)
		if len(rd.Applications) > maxApps {
			t.Fatalf("%d applications", len(rd.Applications))
		}
		_ = err
	})
}

func FuzzParseHexAttr(f *testing.F) {
	for _, s := range []string{"05e0\n", "03\n", "ff", "", "0x1", "1d6b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseHexAttr(s, 16)
		if err == nil && v > 0xFFFF {
			t.Fatalf("%q gave %x, wider than 16 bits", s, v)
		}
	})
}

func FuzzParseInstanceID(f *testing.F) {
	for _, s := range []string{`USB\VID_05E0&PID_1200\S4711`, `USB\VID_0C2E&PID_0B81&MI_01\6&2A3B4C&0&0001`, `HID\VID_05E0&PID_1200\7&AA&0&0000`, `USB\ROOT_HUB30\4&1234&0&0`} {
		f.Add(s, "HID_DEVICE_UP:008C_U:0002", `USB\Class_03&SubClass_01&Prot_01`)
	}
	f.Fuzz(func(t *testing.T, id, hw, compat string) {
		w, ok := parseInstanceID(id)
		if ok && w.Interface > 0xFF {
			t.Fatalf("interface %d", w.Interface)
		}
		usageFromIDs([]string{hw})
		classFromIDs([]string{compat})
		assembleWindows([]winNode{{InstanceID: id, CompatIDs: []string{compat}}}, []winNode{{InstanceID: id, HardwareIDs: []string{hw}}})
	})
}
