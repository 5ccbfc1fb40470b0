package escpos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	simescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// scripted builds a driver whose port plays the transcript case.
func scripted(t *testing.T, c transcript.Case, sc *transcript.Script) drivers.Prober {
	d, err := New(transcript.Spec(t, c, "tcp://printer.test:9100"))
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	d.dial = func(context.Context) (transport.Conn, error) { return sc, nil }
	if !transcript.ReadsIdentity(c) {
		d.ident.Read(wire.Identity{})
	}
	return d
}

func runTranscripts(t *testing.T, file string) {
	transcript.Run(t, file, func(c transcript.Case, sc *transcript.Script) drivers.Prober {
		return scripted(t, c, sc)
	})
}

func TestStatusTranscripts(t *testing.T)   { runTranscripts(t, "testdata/status.txt") }
func TestIdentityTranscripts(t *testing.T) { runTranscripts(t, "testdata/identity.txt") }

func TestParseStatusVectors(t *testing.T) {
	// Appendix B.1: every single-condition byte fits the fixed pattern.
	for _, b := range []byte{0x12, 0x16, 0x1A, 0x32, 0x52, 0x56, 0x1E, 0x72, 0x7E} {
		if err := checkStatusByte(1, b); err != nil {
			t.Errorf("%02X rejected: %v", b, err)
		}
	}
	for _, b := range []byte{0x00, 0x10, 0x02, 0x13, 0x92, 0xFF, 0x5F} {
		if err := checkStatusByte(1, b); !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("%02X accepted", b)
		}
	}
}

func TestIdentityIsReadOccasionally(t *testing.T) {
	addr, _ := transport.Parse("tcp://printer.test")
	d, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(map[string]string{"identify_every": "3"})})
	if err != nil {
		t.Fatal(err)
	}
	printer := simescpos.New()
	gone := false
	d.dial = func(ctx context.Context) (transport.Conn, error) {
		if gone {
			return nil, fmt.Errorf("%w: unplugged", transport.ErrUnreachable)
		}
		ours, theirs := net.Pipe()
		go func() { _ = printer.Serve(ctx, theirs); theirs.Close() }()
		return ours, nil
	}
	var read []bool
	for i := 1; i <= 9; i++ {
		gone = i == 6
		r, err := d.Probe(context.Background())
		if (err != nil) != gone {
			t.Fatalf("probe %d: %v", i, err)
		}
		read = append(read, r.Identity != nil)
	}
	// Read at the first probe, then every third; probe 6 fails, so probe 7
	// reads again (the printer may have been swapped while it was gone).
	want := []bool{true, false, false, true, false, false, true, false, false}
	if fmt.Sprint(read) != fmt.Sprint(want) {
		t.Fatalf("identity read per probe = %v, want %v", read, want)
	}
}

func TestOptions(t *testing.T) {
	addr, _ := transport.Parse("tcp://printer.test")
	for _, bad := range []map[string]string{
		{"drawer": "sideways"}, {"identify_every": "-1"}, {"identify_every": "often"}, {"colour": "red"},
	} {
		if _, err := New(drivers.Spec{Address: addr, Options: drivers.NewOptions(bad)}); err == nil {
			t.Errorf("options %v accepted", bad)
		}
	}
	snmp, _ := transport.Parse("snmp://printer.test")
	if _, err := New(drivers.Spec{Address: snmp, Options: drivers.NewOptions(nil)}); err == nil {
		t.Error("snmp address accepted")
	}
}
