package scale

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

func TestMotionNeedsBothProbesAndTime(t *testing.T) {
	now := time.Date(2025, 3, 1, 9, 0, 0, 0, time.UTC)
	m := &Motion{Probes: 3, After: time.Minute, Now: func() time.Time { return now }}
	steps := []struct {
		advance    time.Duration
		dynamic    bool
		probes     int
		persistent bool
	}{
		{0, true, 1, false},                 // first dynamic reading: never a fault
		{30 * time.Second, true, 2, false},  // two probes, 30 s
		{20 * time.Second, true, 3, false},  // three probes but only 50 s
		{10 * time.Second, true, 4, true},   // 60 s and four probes: persistent
		{10 * time.Second, false, 0, false}, // settles: the run ends
		{10 * time.Second, true, 1, false},  // a new run starts from scratch
	}
	for i, s := range steps {
		now = now.Add(s.advance)
		r := m.Observe(s.dynamic)
		if r.Probes != s.probes || r.Persistent != s.persistent {
			t.Errorf("step %d: run %+v, want %d probes persistent=%v", i, r, s.probes, s.persistent)
		}
	}
}

func TestMotionProbesOnly(t *testing.T) {
	m := &Motion{Probes: 2}
	if m.Observe(true).Persistent {
		t.Error("one dynamic probe became persistent")
	}
	if !m.Observe(true).Persistent {
		t.Error("two dynamic probes with no time minimum did not become persistent")
	}
	m.Reset()
	if m.Observe(true).Persistent {
		t.Error("Reset did not end the run")
	}
}

func TestNewMotionOptions(t *testing.T) {
	o := drivers.NewOptions(map[string]string{"unstable_probes": "5", "unstable_after": "2m"})
	m := NewMotion(&o)
	if err := o.Err(); err != nil || m.Probes != 5 || m.After != 2*time.Minute {
		t.Errorf("NewMotion = %d, %s, %v", m.Probes, m.After, err)
	}
	for _, bad := range []map[string]string{
		{"unstable_probes": "0"}, {"unstable_probes": "x"}, {"unstable_after": "-1s"}, {"unstable_after": "soon"},
	} {
		o := drivers.NewOptions(bad)
		NewMotion(&o)
		if o.Err() == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
	o = drivers.NewOptions(nil)
	m = NewMotion(&o)
	if m.Probes != DefaultUnstableProbes || m.After != DefaultUnstableAfter {
		t.Errorf("defaults = %d, %s", m.Probes, m.After)
	}
}

func TestReadMapsStatusToFaults(t *testing.T) {
	cases := []struct {
		name   string
		st     Status
		faults string
		stable float64 // -1: no weight_stable measurement
		kg     float64 // -1: no weight_kg measurement
	}{
		{"stable weight", Status{Weight: 100, Unit: "g", HasWeight: true, Raw: "S S 100.00 g"}, "", 1, 0.1},
		{"moving once is no fault", Status{Weight: 129.07, Unit: "g", HasWeight: true, Moving: true}, "", 0, 0.12907},
		{"overload", Status{Overload: true}, "scale_overload", -1, -1},
		{"under zero", Status{UnderZero: true, Weight: -0.5, Unit: "lb", HasWeight: true}, "scale_under_zero", 1, -0.5 * 0.45359237},
		{"zero error", Status{ZeroError: true}, "scale_zero_error", -1, -1},
		{"calibration", Status{Calibration: []string{"RAM error", "ROM error"}}, "scale_calibration_error", -1, -1},
		{"pieces are not a mass", Status{Weight: 12, Unit: "PCS", HasWeight: true}, "", 1, -1},
		{"several at once", Status{Overload: true, Calibration: []string{"EEPROM error"}}, "scale_calibration_error scale_overload", -1, -1},
	}
	for _, c := range cases {
		m := &Motion{Probes: 2}
		r := m.Read(c.st)
		var got []string
		for _, f := range r.Faults {
			got = append(got, string(f.Code))
			info, _ := wire.Lookup(f.Code)
			if f.Severity != info.Severity || f.Remedy != info.Remedy {
				t.Errorf("%s: %s has severity %s remedy %s, vocabulary says %s %s", c.name, f.Code, f.Severity, f.Remedy, info.Severity, info.Remedy)
			}
		}
		if strings.Join(got, " ") != c.faults {
			t.Errorf("%s: faults %v, want %q", c.name, got, c.faults)
		}
		checkMeasure(t, c.name, r, MeasureWeightStable, c.stable)
		checkMeasure(t, c.name, r, MeasureWeightKg, c.kg)
		if r.Detail == "" {
			t.Errorf("%s: no detail", c.name)
		}
	}
}

func checkMeasure(t *testing.T, name string, r drivers.Reading, key string, want float64) {
	t.Helper()
	got, ok := r.Measurements[key]
	switch {
	case want == -1 && ok:
		t.Errorf("%s: %s = %v, want none", name, key, got)
	case want != -1 && !ok:
		t.Errorf("%s: no %s", name, key)
	case want != -1 && (got-want > 1e-12 || want-got > 1e-12):
		t.Errorf("%s: %s = %v, want %v", name, key, got, want)
	}
}

func TestPersistentMotionBecomesUnstable(t *testing.T) {
	m := &Motion{Probes: 3}
	moving := Status{Weight: 1, Unit: "kg", HasWeight: true, Moving: true, Raw: "S D 1.000 kg"}
	for i := 1; i <= 2; i++ {
		if r := m.Read(moving); len(r.Faults) != 0 || r.Measurements[MeasureMotionProbes] != float64(i) {
			t.Fatalf("probe %d: %v %v", i, r.Faults, r.Measurements)
		}
	}
	r := m.Read(moving)
	if len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultScaleUnstable || r.Faults[0].Severity != wire.SeverityWarning {
		t.Fatalf("third dynamic probe: %+v", r.Faults)
	}
	if r := m.Read(Status{Weight: 1, Unit: "kg", HasWeight: true}); len(r.Faults) != 0 {
		t.Errorf("settled weight still faulted: %v", r.Faults)
	}
}

func TestStrip7(t *testing.T) {
	cases := []struct {
		name   string
		in     []byte
		parity string
		want   string
		bad    bool
	}{
		{"stripped by the UART", []byte{0x02, '?', 'a', 0x0D}, "E", "\x02?a\r", false},
		{"even parity in bit 7", []byte{0x82, 0x3F, 0xE1, 0x8D}, "E", "\x02?a\r", false},
		{"odd parity in bit 7", []byte{0x02, 0xBF, 0x61, 0x0D}, "O", "\x02?a\r", false},
		{"odd bytes on an even line", []byte{0x02, 0xBF, 0x61, 0x0D}, "E", "", true},
		{"unknown parity, consistently even", []byte{0x82, 0x3F, 0xE1, 0x8D}, "N", "\x02?a\r", false},
		{"unknown parity, consistently odd", []byte{0x02, 0xBF, 0x61, 0x0D}, "", "\x02?a\r", false},
		{"unknown parity, mixed", []byte{0x82, 0x3F, 0x61, 0x8D}, "", "", true},
		{"mark parity", []byte{0x82, 0xBF, 0xE1, 0x8D}, "M", "\x02?a\r", false},
		{"space parity with bit 7", []byte{0x02, 0xBF}, "S", "", true},
	}
	for _, c := range cases {
		got, err := Strip7(c.in, c.parity)
		if c.bad {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("%s: err %v, want a protocol error", c.name, err)
			}
			continue
		}
		if err != nil || string(got) != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}

// NCI-like frames: LF, weight, CR LF, two status bytes, CR ETX; the status
// bytes (positions 12 and 13) may carry their own parity bit.
func TestStripParityCarriers(t *testing.T) {
	status := func([]byte) []int { return []int{12, 13} }
	frame := func(s1, s2 byte) []byte { return append([]byte("\n0001.25lb\r\n"), s1, s2, '\r', 0x03) }
	cases := []struct {
		name   string
		in     []byte
		parity string
		bad    int // the byte named in the error (1-based), 0 for none
	}{
		{"at zero, parity in the status bytes only (B2 30)", frame(0xB2, 0x30), "E", 0},
		{"the same on a port read as 8N1", frame(0xB2, 0x30), "N", 0},
		{"over capacity on an even line (30 B2)", frame(0x30, 0xB2), "E", 0},
		{"under capacity on an even line (30 B1)", frame(0x30, 0xB1), "E", 0},
		{"odd parity in the status bytes on an odd line (32 B0)", frame(0x32, 0xB0), "O", 0},
		{"odd parity in the status bytes, parity unknown", frame(0x32, 0xB0), "", 0},
		{"wrong parity in a status byte (B0 for 30 on an even line)", frame(0xB0, 0x30), "E", 13},
		{"status bytes disagree with each other, parity unknown", frame(0xB2, 0xB0), "", 14},
		{"a status byte lacks the parity bit its partner has", frame(0xB1, 0x32), "E", 14},
		{"bit 7 on a weight digit is noise, not a carrier", append([]byte("\n000\xb1.25lb\r\n"), 0x32, 0x30, '\r', 0x03), "E", 7},
	}
	for _, c := range cases {
		got, err := StripParity(c.in, c.parity, status)
		if c.bad == 0 {
			want := make([]byte, len(c.in))
			for i, b := range c.in {
				want[i] = b & 0x7F
			}
			if err != nil || string(got) != string(want) {
				t.Errorf("%s: %q, %v; want %q", c.name, got, err, want)
			}
			continue
		}
		if !errors.Is(err, drivers.ErrProtocol) || !strings.Contains(err.Error(), fmt.Sprintf("byte %d of", c.bad)) {
			t.Errorf("%s: err %v, want a parity error in byte %d", c.name, err, c.bad)
		}
	}
	// Without carriers the same frames are parity errors: that is what made
	// such scales look silent before.
	if _, err := Strip7(frame(0xB2, 0x30), "E"); !errors.Is(err, drivers.ErrProtocol) {
		t.Errorf("Strip7 without carriers accepted status-only parity: %v", err)
	}
}

func FuzzStrip7(f *testing.F) {
	f.Add([]byte{0x82, 0x3F, 0xE1, 0x8D}, "E", 0)
	f.Add([]byte("\x0a0001.25lb\r\n00\r\x03"), "O", 0)
	f.Add([]byte("\x0a0001.25lb\r\n\xb20\r\x03"), "E", 12)
	f.Add([]byte{}, "", 0)
	f.Fuzz(func(t *testing.T, in []byte, parity string, carrier int) {
		out, err := StripParity(in, parity, func([]byte) []int { return []int{carrier, carrier + 1} })
		if len(out) != len(in) {
			t.Fatalf("length changed: %d -> %d", len(in), len(out))
		}
		for i, b := range out {
			if b&0x80 != 0 || b != in[i]&0x7F {
				t.Fatalf("byte %d: 0x%02X from 0x%02X", i, b, in[i])
			}
		}
		if err != nil && !errors.Is(err, drivers.ErrProtocol) {
			t.Fatalf("error %v is not a protocol error", err)
		}
		if err == nil {
			for i, b := range in {
				if b&0x80 != 0 && i != carrier && i != carrier+1 {
					if _, werr := Strip7(in, parity); werr != nil {
						t.Fatalf("bit 7 outside the carriers accepted though the frame's parity is not consistent: % X", in)
					}
				}
			}
		}
	})
}

func TestToKg(t *testing.T) {
	for unit, want := range map[string]float64{"kg": 2, "KG": 2, "g": 0.002, "lb": 0.90718474, "oz": 0.05669904625} {
		if got, ok := ToKg(2, unit); !ok || got-want > 1e-12 || want-got > 1e-12 {
			t.Errorf("ToKg(2, %s) = %v, %v", unit, got, ok)
		}
	}
	if _, ok := ToKg(2, "PCS"); ok {
		t.Error("pieces converted to kilograms")
	}
}

func TestNewLine(t *testing.T) {
	seven := func(m transport.SerialMode) bool { return m.DataBits == 7 }
	def := transport.SerialMode{Baud: 9600, DataBits: 7, Parity: "E", StopBits: "1"}
	for in, want := range map[string]string{
		"serial:///dev/ttyS0":                       "9600 7E1",
		"serial:///dev/ttyS0?databits=8&parity=N":   "9600 8N1",
		"serial:///dev/ttyS0?baud=4800&parity=O":    "4800 7O1",
		"serial:///dev/ttyS0?baud=19200&stopbits=2": "19200 7E2",
	} {
		a, err := transport.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		l, err := NewLine(a, def, seven)
		if err != nil || l.Mode.String() != want || l.Seven != (l.Mode.DataBits == 7) {
			t.Errorf("NewLine(%s) = %v seven=%v, %v; want %s", in, l.Mode, l.Seven, err, want)
		}
	}
	for _, in := range []string{"tcp://10.0.0.5", "usb://04b8:0e28", "snmp://10.0.0.5"} {
		a, err := transport.Parse(in)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := NewLine(a, def, seven); err == nil {
			t.Errorf("NewLine(%s) accepted", in)
		}
	}
	a, _ := transport.Parse("tcp://10.0.0.5:4001")
	if _, err := NewLine(a, def, seven); err != nil {
		t.Errorf("tcp with a port: %v", err)
	}
}

func TestIsDecimal(t *testing.T) {
	for _, c := range []struct {
		s      string
		signed bool
		want   bool
	}{
		{"100.00", false, true}, {"001250", false, true}, {".5", false, true}, {"5.", false, true},
		{"-0.015", true, true}, {"+1", true, true}, {"-0.015", false, false},
		{"", false, false}, {"-", true, false}, {".", false, false}, {"1.2.3", false, false},
		{"1e3", false, false}, {"NaN", true, false}, {"Inf", true, false}, {"0x1p3", false, false}, {" 1", false, false},
	} {
		if got := IsDecimal(c.s, c.signed); got != c.want {
			t.Errorf("IsDecimal(%q, %v) = %v", c.s, c.signed, got)
		}
	}
}
