package zvt

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/internal/testkit/transcript"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

var optionKeys = []string{"password", "service_byte", "crc_escape"}

// TestTranscripts plays every testdata case against the driver's exchange
// code: the bytes it sends must match the transcript exactly, and its
// conclusion must match the case's expectations.
func TestTranscripts(t *testing.T) {
	for _, file := range []struct {
		path, addr string
		serial     bool
	}{
		{"testdata/status_tcp.txt", "tcp://127.0.0.1", false},
		{"testdata/status_serial.txt", "serial:///dev/ttyS0", true},
	} {
		for _, c := range transcript.Load(t, file.path) {
			t.Run(c.Name, func(t *testing.T) {
				opts := map[string]string{}
				for _, k := range optionKeys {
					if v, ok := c.Expect[k]; ok {
						opts[k] = v
					}
				}
				addr, _ := transport.Parse(file.addr)
				p, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(opts)})
				if err != nil {
					t.Fatal(err)
				}
				line := transcript.NewScript(c)
				r, err := p.(*Driver).exchange(line, file.serial, nil)
				if err := line.Err(); err != nil {
					t.Fatal(err)
				}
				if next, left := line.Next(); left && !next.Silent {
					t.Errorf("driver stopped before sending % X", next.Request)
				}
				checkOutcome(t, c.Expect, r, err)
			})
		}
	}
}

func checkOutcome(t *testing.T, expect map[string]string, r drivers.Reading, err error) {
	t.Helper()
	if want, ok := expect["error"]; ok {
		var is bool
		switch want {
		case "busy":
			is = errors.Is(err, drivers.ErrBusy)
		case "protocol":
			is = errors.Is(err, drivers.ErrProtocol)
		case "timeout":
			is = errors.Is(err, os.ErrDeadlineExceeded)
		}
		if !is {
			t.Fatalf("err = %v, want a %s error", err, want)
		}
		return
	}
	if err != nil {
		t.Fatal(err)
	}
	if want, ok := expect["faults"]; ok {
		if got := faultCodes(r.Faults); got != want {
			t.Errorf("faults %s, want %s (%s)", got, want, r.Detail)
		}
	}
	if want, ok := expect["status"]; ok && !strings.HasPrefix(r.Detail, "terminal status "+want) {
		t.Errorf("detail %q, want status %s", r.Detail, want)
	}
	for key, get := range map[string]func(wire.Identity) string{
		"firmware": func(i wire.Identity) string { return i.Firmware },
		"serial":   func(i wire.Identity) string { return i.Serial },
	} {
		if want, ok := expect[key]; ok {
			if r.Identity == nil || get(*r.Identity) != want {
				t.Errorf("identity %+v, want %s %q", r.Identity, key, want)
			}
		}
	}
}

func faultCodes(fs []wire.Fault) string {
	if len(fs) == 0 {
		return "-"
	}
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Code))
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

// TestFrameVectors checks the framing against device-protocols.md B.3.
func TestFrameVectors(t *testing.T) {
	if got := kermit(0, []byte("123456789")...); got != 0x2189 {
		t.Fatalf("CRC-16/KERMIT check value %04X, want 2189", got)
	}
	for _, v := range []struct{ apdu, frame, escaped string }{
		{"05 01 00", "10 02 05 01 00 10 03 10 06", "10 02 05 01 00 10 03 10 10 06"},
		{"05 01 03 12 34 56", "10 02 05 01 03 12 34 56 10 03 E0 43", ""},
		{"05 01 05 12 34 56 03 07", "10 02 05 01 05 12 34 56 03 07 10 03 58 BE", ""},
		{"80 00 00", "10 02 80 00 00 10 03 F5 1F", ""},
		{"06 0F 01 DC", "10 02 06 0F 01 DC 10 03 BD 17", ""},
		{"06 0F 02 C4 00", "10 02 06 0F 02 C4 00 10 03 10 10", "10 02 06 0F 02 C4 00 10 03 10 10 10 10"},
		{"06 0F 02 01 02", "10 02 06 0F 02 01 02 10 03 87 10", "10 02 06 0F 02 01 02 10 03 87 10 10"},
		{"06 0F 01 10", "10 02 06 0F 01 10 10 10 03 B7 74", ""},
	} {
		apdu, _ := transcript.Bytes(v.apdu)
		want, _ := transcript.Bytes(v.frame)
		if got := EncodeFrame(apdu, false); string(got) != string(want) {
			t.Errorf("EncodeFrame(%s) = % X, want % X", v.apdu, got, want)
		}
		escaped := want
		if v.escaped != "" {
			escaped, _ = transcript.Bytes(v.escaped)
		}
		if got := EncodeFrame(apdu, true); string(got) != string(escaped) {
			t.Errorf("EncodeFrame(%s, escaped) = % X, want % X", v.apdu, got, escaped)
		}
		for _, f := range [][]byte{want, escaped} {
			got, err := ReadFrame(transcript.Stream(f))
			if err != nil || string(got) != string(apdu) {
				t.Errorf("ReadFrame(% X) = % X, %v; want % X", f, got, err, apdu)
			}
		}
	}
}

func TestReadFrameRejects(t *testing.T) {
	for _, v := range []struct{ in, why string }{
		{"10 02 80 00 00 10 03 F5 1E", "checksum"},
		{"10 02 80 00 00 10 03 1F F5", "checksum"},
		{"10 02 80 10 05 00 10 03 F5 1F", "DLE followed by 05"},
		{strings.Repeat("41 ", 70), "no frame start"},
	} {
		in, _ := transcript.Bytes(v.in)
		_, err := ReadFrame(transcript.Stream(in))
		if err == nil || !strings.Contains(err.Error(), v.why) {
			t.Errorf("ReadFrame(%s) = %v, want an error about %s", v.in, err, v.why)
		}
	}
	in, _ := transcript.Bytes("10 02 80 00 00 10 03 F5 1E")
	if _, err := ReadFrame(transcript.Stream(in)); !errors.Is(err, errBadCRC) {
		t.Errorf("a bad CRC must match errBadCRC (the caller NAKs it): %v", err)
	}
}

func TestAPDULengths(t *testing.T) {
	long := make([]byte, 300)
	for _, a := range []APDU{{0x80, 0x00, nil}, {0x06, 0x0F, []byte{0xDC}}, {0x06, 0xD3, long}} {
		b := a.Bytes()
		if len(a.Data) > 254 && (b[2] != 0xFF || b[3] != 0x2C || b[4] != 0x01) {
			t.Errorf("300 data bytes encode their length as % X, want FF 2C 01", b[2:5])
		}
		got, err := ParseAPDU(b)
		if err != nil || got.String() != a.String() {
			t.Errorf("ParseAPDU(%s) = %s, %v", a, got, err)
		}
		got, err = ReadAPDU(bytesBuffer(b))
		if err != nil || got.String() != a.String() {
			t.Errorf("ReadAPDU(%s) = %s, %v", a, got, err)
		}
	}
	if _, err := ParseAPDU([]byte{0x06, 0x0F, 0x02, 0x00}); !errors.Is(err, drivers.ErrProtocol) {
		t.Errorf("short APDU: %v", err)
	}
}

// TestStatusCodeTable: every code the reference lists maps to the fault
// section 9 proposes; busy codes never make a fault.
func TestStatusCodeTable(t *testing.T) {
	want := map[wire.FaultCode][]byte{
		wire.FaultPTActivation:      {0x6B, 0xC2, 0xE4},
		wire.FaultPTHostUnreachable: {0xA1, 0xA3, 0x7D, 0x9B},
		wire.FaultPTReconciliation:  {0xF0},
		wire.FaultPTHardware:        {0x89, 0xE2, 0xC0, 0xCC, 0xBF, 0xDD, 0xDE},
		wire.FaultPTNotReady:        {0x6C, 0x85, 0x9A, 0xA0, 0xB1, 0xB2, 0xC1, 0xC4, 0xDC, 0xE0, 0xE3, 0xFA, 0xFF, 0x51},
	}
	for f, codes := range want {
		for _, c := range codes {
			got := faultsFor(c)
			if len(got) != 1 || got[0].Code != f || !strings.Contains(got[0].Detail, fmt.Sprintf("%02X", c)) {
				t.Errorf("status %02X: %+v, want %s naming the code", c, got, f)
			}
		}
	}
	if faultsFor(0x00) != nil {
		t.Error("status 00 is ready")
	}
	for _, c := range []byte{0x9C, 0x83} {
		if !isBusy(c) {
			t.Errorf("%02X must count as busy", c)
		}
	}
}

func TestOptions(t *testing.T) {
	addr, _ := transport.Parse("tcp://10.0.0.9")
	for _, bad := range []map[string]string{
		{"password": "12345"},
		{"password": "12a456"},
		{"password": "123456", "service_byte": "300"},
		{"service_byte": "7"},
		{"crc_escape": "maybe"},
		{"pasword": "123456"},
	} {
		if _, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(bad)}); err == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
	addr, _ = transport.Parse("usb://0b00:0001")
	if _, err := New(drivers.Spec{Address: addr}); err == nil {
		t.Error("usb:// accepted")
	}
}

func bytesBuffer(b []byte) *bytes.Buffer { return bytes.NewBuffer(append([]byte(nil), b...)) }
