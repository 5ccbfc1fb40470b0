package escpos

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	simescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/transcript"
	"github.com/storewatch/storewatch/wire"
)

// newScripted builds a driver whose port is the transcript case.
func newScripted(t *testing.T, c transcript.Case) (*Driver, *transcript.Script) {
	t.Helper()
	addr, _ := transport.Parse("tcp://printer.test:9100")
	opts := map[string]string{}
	for k, v := range transcript.Fields(c.Expect["option"]) {
		opts[k] = v
	}
	spec := drivers.Spec{Address: addr, Timeout: time.Second, Options: drivers.NewOptions(opts)}
	if e, ok := c.Expect["expected"]; ok {
		spec.Expected = transcript.Identity(e)
	}
	d, err := New(spec)
	if err != nil {
		t.Fatalf("%s: %v", c.Name, err)
	}
	sc := transcript.NewScript(c)
	d.dial = func(context.Context) (transport.Conn, error) { return sc, nil }
	if _, reads := c.Expect["identity"]; !reads {
		// A case without identity lines plays a later probe, after the
		// identity was read.
		d.ident.Read(wire.Identity{})
	}
	return d, sc
}

func runTranscripts(t *testing.T, file string) {
	for _, c := range transcript.Load(t, file) {
		d, sc := newScripted(t, c)
		r, err := d.Probe(context.Background())
		if sc.Err() != nil {
			t.Errorf("%s: %v", c.Name, sc.Err())
			continue
		}
		if left := sc.Left(); left > 0 {
			t.Errorf("%s: driver stopped with %d scripted requests unsent", c.Name, left)
		}
		switch want := c.Expect["error"]; want {
		case "":
			if err != nil {
				t.Errorf("%s: Probe: %v", c.Name, err)
				continue
			}
		case "protocol":
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("%s: err = %v, want a protocol error", c.Name, err)
			}
			continue
		case "timeout":
			if !errors.Is(err, os.ErrDeadlineExceeded) || drivers.FaultFor(err).Code != wire.FaultNoResponse {
				t.Errorf("%s: err = %v, want a timeout (no_response)", c.Name, err)
			}
			continue
		}
		transcript.CheckFaults(t, c.Name, c.Expect["faults"], r.Faults)
		if want, ok := c.Expect["identity"]; ok {
			transcript.CheckIdentity(t, c.Name, want, r.Identity)
		} else if r.Identity != nil {
			t.Errorf("%s: a later probe read identity again", c.Name)
		}
	}
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
