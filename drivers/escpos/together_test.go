package escpos

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"
	"time"

	simescpos "github.com/storewatch/storewatch/devsim/escpos"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/wire"
)

// fakePrinter answers DLE EOT n with status[n-1] and counts the writes of
// status questions it gets (identity questions it leaves unanswered). Of the questions in one write it answers the first takes: 4 for a
// printer that takes them back to back (Epson, reference 1.2), 1 for a
// clone that drops questions arriving while it answers one, 0 for a silent
// printer. A read with nothing to hand back fails at once with a timeout,
// as a read of a silent printer would at its deadline.
type fakePrinter struct {
	status Status
	takes  int
	writes int
	out    []byte
}

func (p *fakePrinter) Write(b []byte) (int, error) {
	if len(b) >= 2 && b[0] == 0x10 && b[1] == 0x04 {
		p.writes++
	}
	for i, answered := 0, 0; i+3 <= len(b) && answered < p.takes; i += 3 {
		if b[i] == 0x10 && b[i+1] == 0x04 && b[i+2] >= 1 && b[i+2] <= 4 {
			p.out = append(p.out, p.status[b[i+2]-1])
			answered++
		}
	}
	return len(b), nil
}

func (p *fakePrinter) Read(b []byte) (int, error) {
	if len(p.out) == 0 {
		return 0, os.ErrDeadlineExceeded
	}
	n := copy(b, p.out)
	p.out = p.out[n:]
	return n, nil
}

func (p *fakePrinter) SetDeadline(time.Time) error { return nil }
func (p *fakePrinter) Close() error                { return nil }

// A healthy probe sends the four status questions in one write. A printer
// that does not answer them so is read one question at a time on the same
// probe, with no fault for it, and asked so until oneByOneFor has passed;
// a silent printer is no reason to switch.
func TestStatusQuestionsTogether(t *testing.T) {
	type probe struct {
		takes    int  // the printer, from this probe on (-1: as before)
		expire   bool // oneByOneFor has passed before this probe
		writes   int  // writes of status questions the probe makes
		oneByOne bool // the reading says the questions went one at a time
		fails    bool // no answer: the probe fails with a timeout
	}
	const asBefore = -1
	cases := []struct {
		name   string
		probes []probe
	}{
		{"Epson takes them together", []probe{
			{takes: 4, writes: 1}, {takes: asBefore, writes: 1}, {takes: asBefore, writes: 1},
		}},
		{"clone answers one per write: asked one at a time from then on", []probe{
			{takes: 1, writes: 1 + 4, oneByOne: true},
			{takes: asBefore, writes: 4, oneByOne: true},
			{takes: asBefore, writes: 4, oneByOne: true},
			{takes: asBefore, expire: true, writes: 1 + 4, oneByOne: true},
			{takes: asBefore, writes: 4, oneByOne: true},
		}},
		{"clone swapped for an Epson: together again after the retry", []probe{
			{takes: 1, writes: 1 + 4, oneByOne: true},
			{takes: 4, writes: 4, oneByOne: true},
			{takes: asBefore, expire: true, writes: 1},
			{takes: asBefore, writes: 1},
		}},
		// After a failed probe the next one asks identity too (the
		// printer may have been swapped): the fake leaves it unanswered.
		{"silent printer is no reason to switch", []probe{
			{takes: 0, writes: 1 + 1, fails: true},
			{takes: asBefore, writes: 1 + 1, fails: true},
			{takes: 4, writes: 1},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			addr, _ := transport.Parse("tcp://printer.test")
			d, err := New(drivers.Spec{Address: addr, Timeout: time.Second, Options: drivers.NewOptions(nil)})
			if err != nil {
				t.Fatal(err)
			}
			d.ident.Read(wire.Identity{}) // status alone: identity is not due
			// Paper near end: a reading put together from answers out of
			// step would not show exactly paper_low.
			printer := &fakePrinter{status: Status{0x12, 0x12, 0x12, 0x1E}}
			d.dial = func(context.Context) (transport.Conn, error) { return printer, nil }
			for i, p := range c.probes {
				if p.takes != asBefore {
					printer.takes = p.takes
				}
				if p.expire {
					d.oneByOneUntil = time.Now().Add(-time.Second)
				}
				printer.writes = 0
				r, err := d.Probe(context.Background())
				if printer.writes != p.writes {
					t.Errorf("probe %d: %d writes, want %d", i+1, printer.writes, p.writes)
				}
				if p.fails {
					if f := drivers.FaultFor(err); f.Code != wire.FaultNoResponse {
						t.Errorf("probe %d: err %v (%s), want no_response", i+1, err, f.Code)
					}
					continue
				}
				if err != nil {
					t.Fatalf("probe %d: %v", i+1, err)
				}
				if len(r.Faults) != 1 || r.Faults[0].Code != wire.FaultPaperLow {
					t.Errorf("probe %d: faults %+v, want paper_low alone", i+1, r.Faults)
				}
				if got := strings.Contains(r.Detail, "one at a time"); got != p.oneByOne {
					t.Errorf("probe %d: detail %q; want it to say one at a time: %v", i+1, r.Detail, p.oneByOne)
				}
			}
		})
	}
}

// countingConn counts writes on the way to a real connection.
type countingConn struct {
	net.Conn
	writes int
}

func (c *countingConn) Write(b []byte) (int, error) {
	c.writes++
	return c.Conn.Write(b)
}

// The emulator, written from the reference and not from this driver,
// answers the four questions sent together: the driver never falls back.
func TestEmulatorTakesQuestionsTogether(t *testing.T) {
	addr, _ := transport.Parse("tcp://printer.test")
	d, err := New(drivers.Spec{Address: addr, Timeout: time.Second, Options: drivers.NewOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	d.ident.Read(wire.Identity{})
	printer := simescpos.New()
	printer.Switchboard().Set(simescpos.PaperLow, true)
	var conn *countingConn
	d.dial = func(ctx context.Context) (transport.Conn, error) {
		ours, theirs := net.Pipe()
		go func() { _ = printer.Serve(ctx, theirs); theirs.Close() }()
		conn = &countingConn{Conn: ours}
		return conn, nil
	}
	for i := 1; i <= 3; i++ {
		r, err := d.Probe(context.Background())
		if err != nil {
			t.Fatalf("probe %d: %v", i, err)
		}
		if conn.writes != 1 || r.Detail != "DLE EOT 1-4 = 12 12 12 1E" {
			t.Errorf("probe %d: %d writes, detail %q; want 1 write and the four answers", i, conn.writes, r.Detail)
		}
	}
}
