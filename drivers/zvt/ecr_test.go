//go:build unix

package zvt_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	simzvt "github.com/storewatch/storewatch/devsim/zvt"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/zvt"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// ecr stands in for the POS application's ECR side over TCP: it keeps one
// session to the terminal open, as ECRs do all day.
type ecr struct {
	t *testing.T
	c net.Conn
}

func dialECR(t *testing.T, addr string) *ecr {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &ecr{t: t, c: c}
}

// enquire runs one Status Enquiry on the ECR's own session and returns the
// completion's terminal status; it fails the test if anything else (a
// byte of someone else's exchange) shows up on the session.
func (e *ecr) enquire() byte {
	e.t.Helper()
	e.c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := e.c.Write([]byte{0x05, 0x01, 0x00}); err != nil {
		e.t.Fatal(err)
	}
	a, err := zvt.ReadAPDU(e.c)
	if err != nil || !a.Is(0x80, 0x00) {
		e.t.Fatalf("ECR: %v %v, want 80 00 00", a, err)
	}
	a, err = zvt.ReadAPDU(e.c)
	if err != nil || !a.Is(0x06, 0x0F) {
		e.t.Fatalf("ECR: %v %v, want the completion 06 0F", a, err)
	}
	if _, err := e.c.Write([]byte{0x80, 0x00, 0x00}); err != nil {
		e.t.Fatal(err)
	}
	// The software version (LLL-var) comes before the status.
	data := a.Data
	if len(data) >= 3 && data[0]&0xF0 == 0xF0 {
		n := int(data[0]&0x0F)*100 + int(data[1]&0x0F)*10 + int(data[2]&0x0F)
		data = data[3+n:]
	}
	return data[0]
}

// aliveService stands in for another service of the terminal (its
// management or TMS port): it accepts and closes. It returns the port.
func aliveService(t *testing.T) string {
	addr := testenv.ServeTCP(t, nil)
	_, port, _ := net.SplitHostPort(addr)
	return port
}

// TestECRHoldsTheSession: the POS application's ECR keeps its TCP session
// to the terminal open (the terminal serves one ECR connection). However
// the terminal treats the agent's second connection (it waits unanswered,
// is refused, or is closed at once), the probe reads busy, not a fault,
// whenever the terminal shows it is alive: the connection was accepted and
// closed by the terminal itself, or another of its ports answers. The
// ECR's session is never disturbed: its own enquiries before and after the
// probe are answered normally and the terminal received nothing from the
// agent while the ECR held it. When the ECR leaves, the probe reads the
// terminal again.
func TestECRHoldsTheSession(t *testing.T) {
	cases := []struct {
		name   string
		second devsim.Second
		alive  bool   // the terminal has another port that answers
		want   string // with the ECR holding the session
	}{
		{"waits/alive", devsim.SecondWaits, true, "busy"},
		{"refused/alive", devsim.SecondRefused, true, "busy"},
		{"closed", devsim.SecondClosed, false, "busy"},
		{"closed/alive", devsim.SecondClosed, true, "busy"},
		// Without a sign of life nothing tells a busy terminal from a
		// dead one (or a host without the port): the fault stands, and
		// the collector's debounce keeps it from a ticket for a while.
		{"refused/no sign of life", devsim.SecondRefused, false, "unreachable"},
		{"waits/no sign of life", devsim.SecondWaits, false, "no_response"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			term := simzvt.New()
			srv, err := devsim.ServeTCPSecond(context.Background(), term, "127.0.0.1:0", c.second)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { srv.Close() })
			addr := "tcp://" + srv.Addr + "?alive=none"
			if c.alive {
				addr = "tcp://" + srv.Addr + "?alive=" + aliveService(t)
			}

			pos := dialECR(t, srv.Addr)
			if st := pos.enquire(); st != 0 {
				t.Fatalf("ECR read status %02X, want 00", st)
			}
			r, err := probe(t, addr, time.Second, nil, nil)
			if got := codes(r, err); got != c.want {
				t.Fatalf("with the ECR's session open: got %s (%v), want %s", got, err, c.want)
			}
			if c.want == "busy" {
				if !strings.Contains(err.Error(), srv.Addr) || errors.Is(err, transport.ErrUnreachable) {
					t.Errorf("busy error %q does not name the terminal", err)
				}
			}
			if st := pos.enquire(); st != 0 {
				t.Fatalf("ECR read status %02X after the probe, want 00", st)
			}
			testenv.WaitFor(t, 5*time.Second, "the ECR's acknowledge", func() bool { return len(term.Received()) >= 4 })
			got := fmt.Sprintf("% X", term.Received())
			if want := "[05 01 00 80 00 00 05 01 00 80 00 00]"; got != want {
				t.Fatalf("terminal received %s while the ECR held it, want only the ECR's %s", got, want)
			}
			if term.Aborted() != 0 {
				t.Error("something aborted")
			}

			pos.c.Close()
			testenv.WaitFor(t, 5*time.Second, "the terminal free again", func() bool {
				r, err := probe(t, addr, time.Second, nil, nil)
				return codes(r, err) == "ok"
			})
		})
	}
}
