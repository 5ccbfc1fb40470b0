//go:build unix

// The emulator runs on pseudo-terminals, which exist on unix only.

package zvt_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	simzvt "github.com/storewatch/storewatch/devsim/zvt"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/zvt"
	"github.com/storewatch/storewatch/internal/testkit/drivertest"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// served is the emulator on one transport and the address to reach it.
type served struct {
	term *simzvt.Terminal
	addr string
}

// serve starts the terminal on TCP or a PTY, closed when the test ends.
func serve(t *testing.T, term *simzvt.Terminal, over string) served {
	t.Helper()
	ctx := context.Background()
	switch over {
	case "tcp":
		srv, err := devsim.ServeTCP(ctx, term, "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { srv.Close() })
		return served{term, "tcp://" + srv.Addr}
	default:
		p, err := devsim.ServePTY(ctx, term)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return served{term, "serial://" + p.Path}
	}
}

func probe(t *testing.T, addr string, timeout time.Duration, opts map[string]string, expected *wire.Identity) (drivers.Reading, error) {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, err := drivers.New("zvt", drivers.Spec{ID: "pt1", Kind: "payment_terminal", Address: a, Timeout: timeout, Options: drivers.NewOptions(opts), Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	return p.Probe(context.Background())
}

func codes(r drivers.Reading, err error) string {
	if err != nil {
		if errors.Is(err, drivers.ErrBusy) {
			return "busy"
		}
		return string(drivers.FaultFor(err).Code)
	}
	out := ""
	for _, f := range r.Faults {
		out += string(f.Code) + " "
	}
	if out == "" {
		return "ok"
	}
	return out[:len(out)-1]
}

// TestFaultsThroughEmulator drives every emulated terminal state through
// TCP and a real PTY and checks the fault the driver reports.
func TestFaultsThroughEmulator(t *testing.T) {
	cases := []struct {
		fault string // emulator switch, "" for none
		want  string
	}{
		{"", "ok"},
		{"not_ready", "pt_not_ready"},
		{"card_inserted", "pt_not_ready"},
		{"host_unreachable", "pt_host_unreachable"},
		{"reconciliation_required", "pt_reconciliation_required"},
		{"activation_required", "pt_activation_required"},
		{"hardware_fault", "pt_hardware_fault"},
		{"busy", "busy"},
		{"garbage", "no_response"},
		{"silent", "no_response"},
	}
	for _, over := range []string{"tcp", "pty"} {
		for _, c := range cases {
			t.Run(over+"/"+c.fault, func(t *testing.T) {
				term := simzvt.New()
				if c.fault != "" {
					if err := term.Switchboard().Set(c.fault, true); err != nil {
						t.Fatal(err)
					}
				}
				s := serve(t, term, over)
				timeout := 5 * time.Second
				if c.want == "no_response" {
					timeout = 500 * time.Millisecond
				}
				r, err := probe(t, s.addr, timeout, nil, nil)
				if got := codes(r, err); got != c.want {
					t.Fatalf("got %s (%v, %q), want %s", got, err, r.Detail, c.want)
				}
				if err == nil && (r.Identity == nil || r.Identity.Firmware != "GER-EMU 1.4.2" || r.Identity.Serial != "52500123") {
					t.Errorf("identity %+v, want the emulator's software version and terminal id", r.Identity)
				}
			})
		}
	}
}

// TestBusyTerminalIsLeftAlone: a terminal in a payment yields ErrBusy, no
// fault, and the driver sends nothing after its one Status Enquiry: no
// abort, not even an acknowledge.
func TestBusyTerminalIsLeftAlone(t *testing.T) {
	for _, over := range []string{"tcp", "pty"} {
		t.Run(over, func(t *testing.T) {
			term := simzvt.New()
			term.Switchboard().Set(simzvt.FaultBusy, true)
			s := serve(t, term, over)
			r, err := probe(t, s.addr, 5*time.Second, nil, nil)
			if !errors.Is(err, drivers.ErrBusy) || len(r.Faults) != 0 {
				t.Fatalf("Probe = %+v, %v; want ErrBusy and no fault", r, err)
			}
			if errors.Is(err, drivers.ErrProtocol) || errors.Is(err, transport.ErrUnreachable) {
				t.Errorf("busy must not look like a failure: %v", err)
			}
			// Whatever the driver sent after its enquiry reaches the
			// terminal before the next probe's bytes do, so a second,
			// ordinary probe shows it in the log.
			s.term.Switchboard().Set(simzvt.FaultBusy, false)
			if _, err := probe(t, s.addr, 5*time.Second, nil, nil); err != nil {
				t.Fatal(err)
			}
			testenv.WaitFor(t, 5*time.Second, "the second probe's acknowledge", func() bool { return len(s.term.Received()) >= 3 })
			got := fmt.Sprintf("% X", s.term.Received())
			if want := "[05 01 00 05 01 00 80 00 00]"; got != want {
				t.Errorf("terminal received %s, want %s: nothing between the busy enquiry and the next one", got, want)
			}
			if s.term.Aborted() != 0 {
				t.Error("the payment was aborted")
			}
		})
	}
}

// TestExchangeBytes checks what the terminal received, byte for byte: the
// enquiry and the acknowledge of the completion.
func TestExchangeBytes(t *testing.T) {
	for _, over := range []string{"tcp", "pty"} {
		term := simzvt.New()
		s := serve(t, term, over)
		if _, err := probe(t, s.addr, 5*time.Second, map[string]string{"password": "123456", "service_byte": "7"}, nil); err != nil {
			t.Fatal(err)
		}
		testenv.WaitFor(t, 5*time.Second, "the completion's acknowledge", func() bool { return len(term.Received()) >= 2 })
		got := fmt.Sprintf("% X", term.Received())
		if want := "[05 01 05 12 34 56 03 07 80 00 00]"; got != want {
			t.Errorf("%s: terminal received %s, want %s", over, got, want)
		}
	}
}

// TestAbortIsAcknowledged: a terminal that ends the Status Enquiry with
// Abort (06 1E 01 6C) gets 80 00 00 from the driver, as a completion does;
// on serial inside a DLE STX frame after the link ACK. The emulator checks
// the acknowledge arrives (Unacknowledged).
func TestAbortIsAcknowledged(t *testing.T) {
	for _, over := range []string{"tcp", "pty"} {
		t.Run(over, func(t *testing.T) {
			term := simzvt.New()
			term.Switchboard().Set(simzvt.FaultAbort, true)
			s := serve(t, term, over)
			r, err := probe(t, s.addr, 5*time.Second, nil, nil)
			if got := codes(r, err); got != "pt_not_ready" || !strings.Contains(r.Detail, "6C") {
				t.Fatalf("got %s (%v, %q), want pt_not_ready naming code 6C", got, err, r.Detail)
			}
			testenv.WaitFor(t, 5*time.Second, "the abort's acknowledge", func() bool {
				return len(term.Received()) >= 2 || len(term.Unacknowledged()) > 0
			})
			if u := term.Unacknowledged(); len(u) != 0 {
				t.Fatalf("the terminal's abort went unacknowledged: %q", u)
			}
			if got, want := fmt.Sprintf("% X", term.Received()), "[05 01 00 80 00 00]"; got != want {
				t.Errorf("terminal received %s, want %s", got, want)
			}
		})
	}
}

// TestSerialCRCWithDLE runs serial exchanges whose frames carry a DLE in
// their CRC, in both directions, with the terminal sending its CRC bytes as
// they are and doubled. The request 05 01 00 has CRC low byte 10; terminal
// id 52500445 gives the completion CRC D810 and 52500361 gives 1046.
func TestSerialCRCWithDLE(t *testing.T) {
	cases := []struct {
		tid           string
		termEscapes   bool
		driverEscapes string
		want          string
	}{
		{"52500445", false, "false", "ok"},
		{"52500361", false, "false", "ok"},
		{"52500445", true, "true", "ok"},
		{"52500361", true, "true", "ok"},
		// A terminal that expects doubled CRC bytes NAKs the driver's
		// undoubled 10: the option must match the terminal.
		{"52500445", true, "false", "no_response"},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("tid %s terminal escapes %v driver %s", c.tid, c.termEscapes, c.driverEscapes), func(t *testing.T) {
			term := simzvt.New()
			term.TerminalID = c.tid
			term.EscapeCRC = c.termEscapes
			s := serve(t, term, "pty")
			r, err := probe(t, s.addr, 3*time.Second, map[string]string{"crc_escape": c.driverEscapes}, nil)
			if got := codes(r, err); got != c.want {
				t.Fatalf("got %s (%v), want %s", got, err, c.want)
			}
			if c.want == "ok" && r.Identity.Serial != c.tid {
				t.Errorf("terminal id %q, want %s", r.Identity.Serial, c.tid)
			}
		})
	}
}

func TestSlowTerminal(t *testing.T) {
	for _, over := range []string{"tcp", "pty"} {
		for _, c := range []struct {
			delay, timeout time.Duration
			want           string
		}{
			{50 * time.Millisecond, 5 * time.Second, "ok"},
			{drivertest.SlowDelay, drivertest.SlowTimeout, "ok"},
			{5 * time.Second, 300 * time.Millisecond, "no_response"},
		} {
			term := simzvt.New()
			term.Switchboard().Set(devsim.FaultSlow, true)
			term.Switchboard().SetDelay(c.delay)
			s := serve(t, term, over)
			r, err := probe(t, s.addr, c.timeout, nil, nil)
			if got := codes(r, err); got != c.want {
				t.Errorf("%s delay %v timeout %v: got %s (%v), want %s", over, c.delay, c.timeout, got, err, c.want)
			}
		}
	}
}

func TestUnknownTerminal(t *testing.T) {
	s := serve(t, simzvt.New(), "tcp")
	r, err := probe(t, s.addr, 5*time.Second, nil, &wire.Identity{Serial: "52500999"})
	if got := codes(r, err); got != "unknown_device" {
		t.Fatalf("got %s, want unknown_device for another terminal id", got)
	}
	r, err = probe(t, s.addr, 5*time.Second, nil, &wire.Identity{Serial: "52500123"})
	if got := codes(r, err); got != "ok" {
		t.Fatalf("got %s, want ok for the inventory's terminal id", got)
	}
}

func TestNothingListening(t *testing.T) {
	r, err := probe(t, "tcp://127.0.0.1:1", time.Second, nil, nil)
	if got := codes(r, err); got != "unreachable" {
		t.Fatalf("got %s, want unreachable", got)
	}
	p, _ := drivers.New("zvt", drivers.Spec{Address: mustParse(t, "tcp://127.0.0.1:1")})
	if _, err := p.(drivers.Identifier).Identify(context.Background()); err == nil {
		t.Error("Identify of nothing succeeded")
	}
	_ = zvt.DefaultPort
}

func mustParse(t *testing.T, s string) transport.Address {
	a, err := transport.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
