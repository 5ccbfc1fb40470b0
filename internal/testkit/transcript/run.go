package transcript

import (
	"context"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
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

// Run plays every case of a transcript file, in order, through the driver
// that build returns for it (talking to the given Script), and checks it
// (Check). A case that expects no error must say "! faults"; one without
// "! identity" plays a later probe, which must not read identity again.
func Run(t *testing.T, file string, build func(c Case, s *Script) drivers.Prober) {
	t.Helper()
	for _, c := range Load(t, file) {
		sc := NewScript(c)
		r, err := build(c, sc).Probe(context.Background())
		if sc.Err() != nil {
			t.Errorf("%s: %v", c, sc.Err())
			continue
		}
		if left := sc.Left(); left > 0 {
			t.Errorf("%s: driver stopped with %d scripted requests unsent", c, left)
		}
		if !Check(t, c, r, err) || err != nil {
			continue
		}
		if _, ok := c.Expect["faults"]; !ok {
			t.Errorf("%s: the case says neither \"! error\" nor \"! faults\"", c)
		}
		if !ReadsIdentity(c) && r.Identity != nil {
			t.Errorf("%s: a later probe read identity again", c)
		}
	}
}

// FuzzProbe fuzzes whole probes: the driver that build returns talks to a
// device answering arbitrary bytes, seeded with every case's answers in the
// transcript files. It must return a reading of known faults or an error,
// never panic and never wait past its input.
func FuzzProbe(f *testing.F, files []string, build func(device *Script) drivers.Prober) {
	for _, file := range files {
		for _, seed := range Conversations(Load(f, file)) {
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
