package escpos

import (
	"context"
	"errors"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

func FuzzParseStatus(f *testing.F) {
	f.Add([]byte{0x12, 0x12, 0x12, 0x12})
	f.Add([]byte{0x1A, 0x32, 0x12, 0x7E})
	f.Add([]byte{0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseStatus(b)
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		for i, v := range s {
			if v&0x93 != 0x12 {
				t.Fatalf("byte %d = %02X accepted", i, v)
			}
		}
		for _, d := range []Drawer{DrawerOpenHigh, DrawerOpenLow, DrawerIgnore} {
			for _, fault := range s.Faults(d) {
				if !fault.Code.Known() {
					t.Fatalf("unknown fault %s", fault.Code)
				}
			}
		}
	})
}

func FuzzParseInfoB(f *testing.F) {
	f.Add(byte(0x43), []byte("\x5fTM-T88V\x00"))
	f.Add(byte(0x41), []byte{0x5F, 0x00})
	f.Add(byte(0x44), []byte{0x5F})
	f.Fuzz(func(t *testing.T, n byte, b []byte) {
		s, err := ParseInfoB(n, b)
		if err != nil {
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Fatalf("error %v is not a protocol error", err)
			}
			return
		}
		if len(s) != len(b)-2 {
			t.Fatalf("text %q from % X", s, b)
		}
	})
}

func FuzzParseIDByte(f *testing.F) {
	for _, b := range []byte{0x20, 0x02, 0x41, 0xA0, 0x10} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b byte) {
		v, err := ParseIDByte(1, b)
		if (err == nil) != (b&0x90 == 0) || (err == nil && v != b) {
			t.Fatalf("ParseIDByte(%02X) = %02X, %v", b, v, err)
		}
	})
}

// FuzzProbe feeds whole probes arbitrary answers.
func FuzzProbe(f *testing.F) {
	addr, _ := transport.Parse("tcp://printer.test")
	transcript.FuzzProbe(f, []string{"testdata/status.txt", "testdata/identity.txt"}, func(device *transcript.Script) drivers.Prober {
		d, err := New(drivers.Spec{Address: addr, Expected: &wire.Identity{Model: "TM-T88V"}, Options: drivers.NewOptions(nil)})
		if err != nil {
			f.Fatal(err)
		}
		d.dial = func(context.Context) (transport.Conn, error) { return device, nil }
		return d
	})
}
