package transcript

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// Spec builds the device spec a case describes: "! option k=v ..." sets
// driver options and "! expected k=v ..." the inventory identity.
func Spec(t testing.TB, c Case, addr string) drivers.Spec {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	spec := drivers.Spec{ID: "transcript", Address: a, Timeout: time.Second, Options: drivers.NewOptions(Fields(c.Expect["option"]))}
	if e, ok := c.Expect["expected"]; ok {
		spec.Expected = Identity(e)
	}
	return spec
}

// ReadsIdentity reports whether a case plays a probe that reads identity
// (it has an "! identity" line). Cases without one play a later probe, so
// the test must tell the driver the identity was already read.
func ReadsIdentity(c Case) bool { _, ok := c.Expect["identity"]; return ok }

// Run plays every case of a transcript file through the driver that build
// returns for it (talking to the given script), and checks "! error"
// (protocol or timeout), "! faults" and "! identity".
func Run(t *testing.T, file string, build func(c Case, s *Script) drivers.Prober) {
	t.Helper()
	for _, c := range Load(t, file) {
		sc := NewScript(c)
		r, err := build(c, sc).Probe(context.Background())
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
		default:
			t.Fatalf("%s: unknown expectation \"! error %s\"", c.Name, want)
		}
		CheckFaults(t, c.Name, c.Expect["faults"], r.Faults)
		if want, ok := c.Expect["identity"]; ok {
			CheckIdentity(t, c.Name, want, r.Identity)
		} else if r.Identity != nil {
			t.Errorf("%s: a later probe read identity again", c.Name)
		}
	}
}

// FuzzProbe fuzzes whole probes: the driver that build returns talks to a
// device answering arbitrary bytes, seeded with every answer in the
// transcript files. It must return a reading of known faults or an error,
// never panic and never wait past its input.
func FuzzProbe(f *testing.F, files []string, build func(device *Script) drivers.Prober) {
	for _, file := range files {
		for _, seed := range Responses(Load(f, file)) {
			f.Add(seed)
		}
	}
	f.Fuzz(func(t *testing.T, answers []byte) {
		r, err := build(Stream(answers)).Probe(context.Background())
		if err != nil {
			return
		}
		for _, fault := range r.Faults {
			if !fault.Code.Known() {
				t.Fatalf("unknown fault %s", fault.Code)
			}
		}
	})
}
