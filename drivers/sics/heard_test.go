package sics

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// LastWeight reads a stream or answers the scale sent the POS application.
func TestLastWeight(t *testing.T) {
	cases := []struct {
		name  string
		heard string
		want  string // Raw of the status found; "" for none
	}{
		{"nothing", "", ""},
		{"one line, maybe a tail", "S S      1.250 kg\r\n", ""},
		{"a stream", "S S      1.250 kg\r\nS S      1.250 kg\r\nS D      1.300 kg\r\n", "S D      1.300 kg"},
		{"the last line unterminated", "kg\r\nS S      1.250 kg\r\nS S      1.2", "S S      1.250 kg"},
		{"a tail first", "  1.250 kg\r\nS +\r\n", "S +"},
		{"busy lines skipped", "\r\nS S      2.000 kg\r\nS I\r\n", "S S      2.000 kg"},
		{"other answers skipped", "\r\nS -\r\nI4 A \"B525073136\"\r\n", "S -"},
		{"parity bits cleared", "\r\n\xd3 \xd3      1.000 kg\r\n", "S S      1.000 kg"},
		{"garbage", "\r\n\x00\x01\x02\r\nZZZ\r\n", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, ok := LastWeight([]byte(c.heard))
			got := ""
			if ok {
				got = st.Raw
			}
			if got != c.want {
				t.Errorf("LastWeight(%q) = %q, want %q", c.heard, got, c.want)
			}
		})
	}
}

func FuzzLastWeight(f *testing.F) {
	seedLines(f)
	f.Add([]byte("\r\nS S      1.250 kg\r\nS D"))
	f.Fuzz(func(t *testing.T, b []byte) {
		st, ok := LastWeight(b)
		if ok && !st.HasWeight && !st.Overload && !st.UnderZero {
			t.Fatalf("LastWeight(%q) found %+v, which says nothing", b, st)
		}
	})
}

// overhearingTap is a tap stand-in: each Overheard hands out the next
// chunk of what the scale sent the POS application; Session counts the
// agent's attempts to speak and finds the line busy, as a stream leaves it.
type overhearingTap struct {
	chunks   []string
	sessions int
}

func (f *overhearingTap) Session(context.Context) (transport.Conn, error) {
	f.sessions++
	return nil, &transport.BusyError{Resource: "/dev/ttyTAP0"}
}

func (f *overhearingTap) Overheard() []byte {
	if len(f.chunks) == 0 {
		return nil
	}
	c := f.chunks[0]
	f.chunks = f.chunks[1:]
	return []byte(c)
}

// A probe on a tapped line reads the newest whole weight the scale sent
// since the previous probe, even when that is a single record that came
// right after it: the bytes the previous probe heard end with CR LF, so
// the record begins there and is no tail of an older one. Only a probe
// that heard no whole record speaks on the line.
func TestProbeReadsEveryWholeRecordOverheardSinceThePreviousProbe(t *testing.T) {
	steps := []struct {
		heard    string
		want     string // "" when the probe must speak
		sessions int    // the agent's attempts to speak so far
	}{
		{"  1.250 kg\r\nS S      1.250 kg\r\n", "1.250 kg", 0},
		{"S +\r\n", "overload", 0},                                    // one record, right after the previous bytes
		{"S S      1.300 kg\r\nS +\r\nS S", "overload", 0},            // the last whole one
		{"     1.310 kg\r\n", "", 1},                                  // the tail of a record begun before: nothing whole
		{"S S      1.320 kg\r\n", "", 2},                              // after the agent spoke, where the bytes begin is unknown
		{"S S      1.330 kg\r\n", "", 3},                              // nor here: the previous probe spoke too
		{"S S      1.340 kg\r\nS S      1.350 kg\r\n", "1.350 kg", 3}, // the second record follows the first
		{"S S      1.360 kg\r\n", "1.360 kg", 3},                      // and this one what the previous probe heard
	}
	addr, err := transport.Parse("serial:///dev/ttyTAP0")
	if err != nil {
		t.Fatal(err)
	}
	tap := &overhearingTap{}
	defer transport.RegisterTap(addr.Resource(), tap)()
	d, err := drivers.New("sics", drivers.Spec{ID: "scale-1", Address: addr, Timeout: 50 * time.Millisecond, Options: drivers.NewOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	for i, s := range steps {
		tap.chunks = []string{s.heard}
		r, err := d.Probe(context.Background())
		switch {
		case s.want == "":
			if err == nil {
				t.Errorf("step %d (%q): the probe read %+v from what it heard, want it to speak", i, s.heard, r)
			}
		case err != nil:
			t.Errorf("step %d (%q): %v, want %s heard on the tap", i, s.heard, err, s.want)
		case s.want == "overload":
			if len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultScaleOverload {
				t.Errorf("step %d (%q): %+v, want the overload", i, s.heard, r)
			}
		case !strings.Contains(r.Detail, s.want) || !strings.Contains(r.Detail, "heard on the tap"):
			t.Errorf("step %d (%q): %q, want %s heard on the tap", i, s.heard, r.Detail, s.want)
		}
		if tap.sessions != s.sessions {
			t.Errorf("step %d (%q): the agent tried to speak %d times, want %d", i, s.heard, tap.sessions, s.sessions)
		}
	}
}
