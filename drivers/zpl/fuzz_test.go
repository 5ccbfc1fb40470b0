package zpl

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/transcript"
	"github.com/storewatch/storewatch/wire"
)

// seeds returns every answer in the transcripts.
func seeds(f *testing.F) [][]byte {
	var out [][]byte
	for _, file := range []string{"testdata/status.txt", "testdata/identity.txt"} {
		for _, c := range transcript.Load(f, file) {
			for _, st := range c.Steps {
				out = append(out, st.Response)
			}
		}
	}
	return out
}

func mustProtocol(t *testing.T, err error) {
	if err != nil && !errors.Is(err, drivers.ErrProtocol) {
		t.Fatalf("error %v is not a protocol error", err)
	}
}

func FuzzParseHostStatus(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseHostStatus(b)
		mustProtocol(t, err)
		if err == nil {
			_ = s.Faults()
			_ = CommSettings(s.Comm)
		}
	})
}

func FuzzParseErrorStatus(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ParseErrorStatus(b)
		mustProtocol(t, err)
		if err == nil {
			for _, fault := range s.Faults() {
				if !fault.Code.Known() {
					t.Fatalf("unknown fault %s", fault.Code)
				}
			}
			if (s.Errors != [2]uint32{}) && len(s.Faults()) == 0 {
				t.Fatalf("error bits %08X went unreported", s.Errors)
			}
		}
	})
}

func FuzzParseHostID(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		id, err := ParseHostID(b)
		mustProtocol(t, err)
		if err == nil && (id.Model == "" || id.Firmware == "") {
			t.Fatalf("identity without model or firmware: %+v", id)
		}
	})
}

func FuzzParseSerialNumber(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add(s)
	}
	f.Add([]byte("\x02\r\nSERIAL NUMBER\r\n41A06440023\r\n\x03"))
	f.Fuzz(func(t *testing.T, b []byte) {
		sn, err := ParseSerialNumber(b)
		mustProtocol(t, err)
		if err == nil && (sn == "" || len(sn) > maxSerial || strings.ContainsAny(sn, " ,\r\n\x02\x03")) {
			t.Fatalf("%q: accepted serial number %q", b, sn)
		}
	})
}

func FuzzCommSettings(f *testing.F) {
	f.Add(30)
	f.Fuzz(func(t *testing.T, aaa int) { _ = CommSettings(aaa) })
}

// FuzzProbe feeds whole probes arbitrary answers.
func FuzzProbe(f *testing.F) {
	addr, _ := transport.Parse("tcp://label.test")
	transcript.FuzzProbe(f, []string{"testdata/status.txt", "testdata/identity.txt"}, func(device *transcript.Script) drivers.Prober {
		d, err := New(drivers.Spec{Address: addr, Expected: &wire.Identity{Model: "ZD420"}, Options: drivers.NewOptions(nil)})
		if err != nil {
			f.Fatal(err)
		}
		d.dial = func(context.Context) (transport.Conn, error) { return device, nil }
		return d
	})
}
