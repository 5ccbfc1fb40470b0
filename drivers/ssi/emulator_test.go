//go:build unix

// The emulator runs on pseudo-terminals, which exist on unix only.

package ssi_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	simssi "github.com/storewatch/storewatch/devsim/ssi"
	"github.com/storewatch/storewatch/drivers"
	_ "github.com/storewatch/storewatch/drivers/ssi"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

func probe(t *testing.T, sc *simssi.Scanner, timeout time.Duration, expected *wire.Identity) (drivers.Reading, error) {
	t.Helper()
	p, err := devsim.ServePTY(context.Background(), sc)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.Close() })
	a, err := transport.Parse("serial://" + p.Path)
	if err != nil {
		t.Fatal(err)
	}
	d, err := drivers.New("ssi", drivers.Spec{ID: "scanner1", Kind: "barcode_scanner", Address: a, Timeout: timeout, Expected: expected})
	if err != nil {
		t.Fatal(err)
	}
	return d.Probe(context.Background())
}

func outcome(r drivers.Reading, err error) string {
	if err != nil {
		return string(drivers.FaultFor(err).Code)
	}
	if len(r.Faults) == 0 {
		return "ok"
	}
	return string(r.Faults[0].Code)
}

// TestFaultsThroughEmulator drives each emulated misbehaviour over a real
// PTY and checks what the collector would record.
func TestFaultsThroughEmulator(t *testing.T) {
	for _, c := range []struct {
		fault    string
		expected *wire.Identity
		want     string
	}{
		{"", nil, "ok"},
		{"", &wire.Identity{Vendor: "Zebra"}, "ok"},
		{"", &wire.Identity{Vendor: "Honeywell"}, "unknown_device"},
		{simssi.FaultNak, nil, "no_response"},
		{simssi.FaultBadChecksum, nil, "no_response"},
		{devsim.FaultGarbage, nil, "no_response"},
		{devsim.FaultSilent, nil, "no_response"},
	} {
		t.Run(fmt.Sprintf("%s %v", c.fault, c.expected), func(t *testing.T) {
			sc := simssi.New()
			if c.fault != "" {
				sc.Switchboard().Set(c.fault, true)
			}
			timeout := 3 * time.Second
			if c.want == "no_response" {
				timeout = 500 * time.Millisecond
			}
			r, err := probe(t, sc, timeout, c.expected)
			if got := outcome(r, err); got != c.want {
				t.Fatalf("got %s (%v), want %s", got, err, c.want)
			}
			if c.want == "no_response" && errors.Is(err, transport.ErrUnreachable) {
				t.Errorf("a present but misbehaving scanner is not unreachable: %v", err)
			}
		})
	}
}

func TestIdentityAndBytes(t *testing.T) {
	sc := simssi.New()
	sc.SetRevision("NBRPUAAM 7 21")
	r, err := probe(t, sc, 3*time.Second, nil)
	if err != nil {
		t.Fatal(err)
	}
	id := r.Identity
	if id == nil || id.Vendor != "Zebra" || id.Firmware != "NBRPUAAM" || id.Extra["board_type"] != "7" || id.Extra["engine_code"] != "21" {
		t.Fatalf("identity %+v", id)
	}
	testenv.WaitFor(t, 5*time.Second, "the driver's CMD_ACK", func() bool { return len(sc.Received()) >= 2 })
	if got, want := fmt.Sprintf("% X", sc.Received()), "[04 A3 04 00 FF 55 04 D0 04 00 FF 28]"; got != want {
		t.Errorf("scanner received %s, want %s", got, want)
	}
}

func TestSlowScanner(t *testing.T) {
	sc := simssi.New()
	sc.Switchboard().Set(devsim.FaultSlow, true)
	sc.Switchboard().SetDelay(50 * time.Millisecond)
	if r, err := probe(t, sc, 5*time.Second, nil); outcome(r, err) != "ok" {
		t.Fatalf("a scanner slower than usual but within the timeout: %v", err)
	}
}

func TestMissingPort(t *testing.T) {
	a, _ := transport.Parse("serial:///dev/ttyNOSUCHSCANNER")
	d, err := drivers.New("ssi", drivers.Spec{Address: a})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Probe(context.Background()); drivers.FaultFor(err).Code != wire.FaultUnreachable {
		t.Fatalf("missing port: %v, want unreachable", err)
	}
	if _, err := drivers.New("ssi", drivers.Spec{Address: a, Options: drivers.NewOptions(map[string]string{"baud": "9600"})}); err == nil {
		t.Error("an unknown option was accepted")
	}
}
