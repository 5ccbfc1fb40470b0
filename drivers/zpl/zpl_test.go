package zpl

import (
	"context"
	"errors"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

func runTranscripts(t *testing.T, file string) {
	transcript.Run(t, file, func(c transcript.Case, sc *transcript.Script) drivers.Prober {
		d, err := New(transcript.Spec(t, c, "tcp://label.test:9100"))
		if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		d.dial = func(context.Context) (transport.Conn, error) { return sc, nil }
		if !transcript.ReadsIdentity(c) {
			d.ident.Read(wire.Identity{})
		}
		return d
	})
}

func TestStatusTranscripts(t *testing.T)   { runTranscripts(t, "testdata/status.txt") }
func TestIdentityTranscripts(t *testing.T) { runTranscripts(t, "testdata/identity.txt") }

// aaa is a 9-bit value a8..a0: baud = a8 a2 a1 a0, a3 data bits, a4 stop
// bits, a5 parity enable, a6 parity, a7 handshake (reference 2.2).
func TestCommSettings(t *testing.T) {
	cases := []struct {
		aaa  int
		want string
	}{
		{30, "9600 8N1 Xon/Xoff"},     // appendix B.5: 030 = 0 0001 1110
		{0, "110 7N2 Xon/Xoff"},       // all bits clear
		{0xE9, "300 8E2 DTR"},         // 0 1110 1001
		{0x119, "38400 8N1 Xon/Xoff"}, // 1 0001 1001: baud 1001
		{0x11C, "baud? 8N1 Xon/Xoff"}, // baud 1100 is not in the table
		{0x1A2, "57600 7O2 DTR"},      // 1 1010 0010: baud 1010, parity on, odd
	}
	for _, c := range cases {
		if got := CommSettings(c.aaa); got != c.want {
			t.Errorf("CommSettings(%03d) = %q, want %q", c.aaa, got, c.want)
		}
	}
}

// The driver stops asking ~HQES of a printer that never answered it.
func TestOldFirmwareIsAskedOnlyHS(t *testing.T) {
	cases := transcript.Load(t, "testdata/status.txt")
	var old transcript.Case
	for _, c := range cases {
		if c.Name == "older firmware: ~HS answers, ~HQES does not" {
			old = c
		}
	}
	d, err := New(transcript.Spec(t, old, "tcp://label.test"))
	if err != nil {
		t.Fatal(err)
	}
	d.ident.Read(wire.Identity{})
	first := transcript.NewScript(old)
	second := transcript.NewScript(transcript.Case{Steps: old.Steps[:1]})
	for i, sc := range []*transcript.Script{first, second} {
		d.dial = func(context.Context) (transport.Conn, error) { return sc, nil }
		if _, err := d.Probe(context.Background()); err != nil || sc.Err() != nil || sc.Left() != 0 {
			t.Fatalf("probe %d: %v, script: %v, %d left", i+1, err, sc.Err(), sc.Left())
		}
	}
}

func TestOptions(t *testing.T) {
	addr, _ := transport.Parse("tcp://label.test")
	for _, bad := range []map[string]string{{"hs_timeout": "10s"}, {"hs_timeout": "0s"}, {"identify_every": "-2"}, {"speed": "fast"}} {
		if _, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(bad)}); err == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
	usb, _ := transport.Parse("usb:///dev/usb/lp0")
	if _, err := New(drivers.Spec{Address: usb, Options: drivers.NewOptions(nil)}); err == nil {
		t.Error("usb address accepted")
	}
}

func TestParseHostIDRejects(t *testing.T) {
	for _, in := range []string{"", "\x02ZD420\x03", "ZD420,V1", "\x02ZD420,V1,8,512KB", ",V1,8,512KB", "ZD\x01,V1,8,512KB"} {
		if _, err := ParseHostID([]byte(in)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("ParseHostID(%q) = %v", in, err)
		}
	}
}

func TestParseSerialNumber(t *testing.T) {
	for in, want := range map[string]string{
		"\x02\r\nSERIAL NUMBER\r\n41A06440023\r\n\x03": "41A06440023", // the guide's example, framed as ~HQES
		"\x02SERIAL NUMBER\r\n41A06440023\x03":         "41A06440023", // no blank lines
		"\x02  Serial Number \n 41A06440023 \n\x03":    "41A06440023", // LF only, padded
	} {
		if got, err := ParseSerialNumber([]byte(in)); err != nil || got != want {
			t.Errorf("ParseSerialNumber(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{
		"", "SERIAL NUMBER\r\n41A06440023", "\x02SERIAL NUMBER\r\n\x03", "\x0241A06440023\x03",
		"\x02SERIAL NUMBER\r\n41A 064\r\n\x03", "\x02SERIAL NUMBER\r\n41A\r\nmore\r\n\x03",
		"\x02SERIAL NUMBER\r\n41A\x01\r\n\x03", "\x02MAC ADDRESS\r\n00:07:4d:2c:e0:7a\r\n\x03",
	} {
		if sn, err := ParseSerialNumber([]byte(in)); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("ParseSerialNumber(%q) = %q, %v; want a protocol error", in, sn, err)
		}
	}
}
