//go:build unix

package zvt_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	simzvt "github.com/storewatch/storewatch/devsim/zvt"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/drivers/transport/tap"
	"github.com/storewatch/storewatch/drivers/zvt"
	"github.com/storewatch/storewatch/internal/testkit/taptest"
)

// serialECR stands in for the POS application's ECR on the tap's virtual
// port: DLE STX frames, each answered with the one-byte ACK.
type serialECR struct {
	c transport.Conn
}

func (e *serialECR) send(apdu ...byte) error {
	if _, err := e.c.Write(zvt.EncodeFrame(apdu, false)); err != nil {
		return err
	}
	var b [1]byte
	if _, err := io.ReadFull(e.c, b[:]); err != nil {
		return fmt.Errorf("link ACK of % X: %w", apdu, err)
	}
	if b[0] != 0x06 {
		return fmt.Errorf("link answer %02X to % X, want ACK 06", b[0], apdu)
	}
	return nil
}

func (e *serialECR) recv() (zvt.APDU, error) {
	body, err := zvt.ReadFrame(e.c)
	if err != nil {
		return zvt.APDU{}, err
	}
	if _, err := e.c.Write([]byte{0x06}); err != nil {
		return zvt.APDU{}, err
	}
	return zvt.ParseAPDU(body)
}

// diagnosis runs one Diagnosis (06 70) to its completion and returns the
// terminal status, acknowledging every intermediate status on the way.
func (e *serialECR) diagnosis() (byte, error) {
	e.c.SetDeadline(time.Now().Add(10 * time.Second))
	if err := e.send(0x06, 0x70, 0x00); err != nil {
		return 0, err
	}
	a, err := e.recv()
	if err != nil || !a.Is(0x80, 0x00) {
		return 0, fmt.Errorf("answer %v %v to the Diagnosis, want 80 00 00", a, err)
	}
	for {
		a, err := e.recv()
		if err != nil {
			return 0, err
		}
		switch {
		case a.Is(0x04, 0xFF):
			if err := e.send(0x80, 0x00, 0x00); err != nil {
				return 0, err
			}
		case a.Is(0x06, 0x0F) && len(a.Data) > 0:
			return a.Data[0], e.send(0x80, 0x00, 0x00)
		default:
			return 0, fmt.Errorf("unexpected %v in the Diagnosis", a)
		}
	}
}

// TestTransactionThroughTheTap: the POS application's ECR runs
// transactions through the tap, each with quiet gaps (150 ms) far longer
// than the tap's idle gap (20 ms) and reply wait (80 ms), while the agent
// probes the terminal over and over. The tap, following the transactions
// with the driver's TransactionWatcher, never lets the agent's Status
// Enquiry into one: the terminal sees nothing but the ECR's acknowledges
// while a transaction runs, every transaction completes, and the agent's
// probes read the terminal between transactions (or busy, never a fault).
func TestTransactionThroughTheTap(t *testing.T) {
	term := simzvt.New()
	term.Steps, term.StepPause = 4, 150*time.Millisecond
	lane := taptest.Start(t, term, "", tap.Config{Mode: zvt.SerialDefaults, MaxHold: 3 * time.Second, Watcher: tap.NewWatcher("zvt")})
	port, tp := lane.Port, lane.Tap
	pos := &serialECR{c: lane.POS(t, "", zvt.SerialDefaults)}

	d, err := drivers.New("zvt", drivers.Spec{ID: "pt1", Kind: "payment_terminal", Address: port, Timeout: 2 * time.Second, Options: drivers.NewOptions(nil)})
	if err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	var (
		wg      sync.WaitGroup
		results []string
	)
	wg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			r, err := d.Probe(context.Background())
			results = append(results, codes(r, err))
			if err != nil && !errors.Is(err, drivers.ErrBusy) {
				t.Errorf("probe: %v", err)
			}
		}
	})
	const transactions = 4
	for i := range transactions {
		st, err := pos.diagnosis()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("ECR transaction %d: %v (terminal: %q)", i, err, term.Disturbed())
		}
		if st != 0 {
			t.Errorf("ECR transaction %d: status %02X, want 00", i, st)
		}
		time.Sleep(300 * time.Millisecond) // the lane between two customers
	}
	close(stop)
	wg.Wait()

	if got := term.Disturbed(); len(got) > 0 {
		t.Errorf("transactions disturbed: %q", got)
	}
	if got := term.Unacknowledged(); len(got) > 0 {
		t.Errorf("completions not acknowledged: %q", got)
	}
	// The terminal's log: each Diagnosis is followed by exactly its
	// acknowledges (one per intermediate status and the completion's).
	rx := term.Received()
	diagnoses := 0
	for i := 0; i < len(rx); i++ {
		if fmt.Sprintf("% X", rx[i]) != "06 70 00" {
			continue
		}
		diagnoses++
		for k := 1; k <= term.Steps+1; k++ {
			if i+k >= len(rx) || fmt.Sprintf("% X", rx[i+k]) != "80 00 00" {
				t.Fatalf("Diagnosis at %d not followed by its %d acknowledges: % X", i, term.Steps+1, rx[i:])
			}
		}
	}
	if diagnoses != transactions {
		t.Errorf("terminal saw %d Diagnoses, want %d", diagnoses, transactions)
	}
	ok := 0
	for _, r := range results {
		if r == "ok" {
			ok++
		}
	}
	st := tp.Stats()
	t.Logf("probes: %v; tap: %+v", results, st)
	if ok == 0 {
		t.Error("no probe read the terminal between transactions")
	}
	if st.WatcherWaits == 0 {
		t.Error("no agent exchange waited for a transaction: the test did not overlap them")
	}
}
