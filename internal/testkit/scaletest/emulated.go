package scaletest

import (
	"context"
	"errors"
	"math"
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/devsim"
	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/transport"
	"github.com/storewatch/storewatch/internal/testkit/simtest"
	"github.com/storewatch/storewatch/wire"
)

// Attach serves dev on a PTY for the rest of the test and returns the named
// driver configured for it. suffix is added to the serial address
// ("?databits=7&parity=E").
func Attach(t testing.TB, driver string, dev devsim.Device, suffix string, opts map[string]string, timeout time.Duration) drivers.Prober {
	t.Helper()
	return New(t, driver, "serial://"+simtest.PTY(t, dev)+suffix, opts, timeout, nil)
}

// New builds the named driver for addr.
func New(t testing.TB, driver, addr string, opts map[string]string, timeout time.Duration, expected *wire.Identity) drivers.Prober {
	t.Helper()
	a, err := transport.Parse(addr)
	if err != nil {
		t.Fatal(err)
	}
	d, err := drivers.New(driver, drivers.Spec{
		ID: "scale1", Kind: "scale", Address: a, Timeout: timeout,
		Options: drivers.NewOptions(opts), Expected: expected,
	})
	if err != nil {
		t.Fatal(err)
	}
	if c, ok := d.(drivers.Closer); ok {
		t.Cleanup(func() { c.Close() })
	}
	return d
}

// FaultCase is one emulator fault and what the driver must make of it.
type FaultCase struct {
	Switch string             // emulator fault to switch on
	Want   wire.FaultCode     // the one fault the driver must report
	Probes int                // probes before checking (motion needs several); 0 means 1
	Zero   bool               // ask through the driver's Zero method instead of Probe
	Also   []string           // further emulator faults to switch on
	Setup  func(t *testing.T) // optional, before the probes
}

// Zeroer is implemented by scale drivers with an explicit zero command.
type Zeroer interface {
	Zero(ctx context.Context) (drivers.Reading, error)
}

// Faults switches each case's fault on in the running emulator, probes
// through the driver and checks that exactly the wanted fault comes out,
// with the vocabulary's severity and remedy; then switches it off and checks
// that the next probe is clean again.
func Faults(t *testing.T, d drivers.Prober, sb *devsim.Faults, cases []FaultCase) {
	for _, c := range cases {
		t.Run(c.Switch, func(t *testing.T) {
			sb.Clear()
			for _, f := range append([]string{c.Switch}, c.Also...) {
				if err := sb.Set(f, true); err != nil {
					t.Fatal(err)
				}
			}
			if c.Setup != nil {
				c.Setup(t)
			}
			var r drivers.Reading
			var err error
			for range max(c.Probes, 1) {
				if c.Zero {
					r, err = d.(Zeroer).Zero(context.Background())
				} else {
					r, err = d.Probe(context.Background())
				}
				if err != nil {
					t.Fatalf("probe with %s on: %v", c.Switch, err)
				}
			}
			if len(r.Faults) != 1 || r.Faults[0].Code != c.Want {
				t.Fatalf("with %s on: faults %+v, want exactly %s (%s)", c.Switch, r.Faults, c.Want, r.Detail)
			}
			info, _ := wire.Lookup(c.Want)
			if f := r.Faults[0]; f.Severity != info.Severity || f.Remedy != info.Remedy || f.Detail == "" {
				t.Errorf("%s: severity %s remedy %s detail %q; vocabulary says %s %s", c.Want, f.Severity, f.Remedy, f.Detail, info.Severity, info.Remedy)
			}
			sb.Clear()
			r, err = d.Probe(context.Background())
			if err != nil || len(r.Faults) != 0 {
				t.Errorf("after switching %s off: faults %+v, err %v", c.Switch, r.Faults, err)
			}
		})
	}
}

// Misbehaviour checks what a driver makes of an emulator that sends noise,
// stays silent or answers slowly, each on a fresh emulator from newDev:
// noise is a protocol error, silence a timeout that the collector records as
// no_response, answers each within the timeout a normal reading (however
// many exchanges the probe makes), and one beyond it a timeout. None may panic or wait past the probe's timeout.
func Misbehaviour(t *testing.T, driver string, newDev func() devsim.Switchable, suffix string, opts map[string]string) {
	cases := []struct {
		name    string
		fault   string
		delay   time.Duration
		timeout time.Duration
		want    string // protocol, timeout or ok
	}{
		{"garbage", devsim.FaultGarbage, 0, 5 * time.Second, "protocol"},
		{"silent", devsim.FaultSilent, 0, 300 * time.Millisecond, "timeout"},
		{"slow within the timeout", devsim.FaultSlow, 20 * time.Millisecond, 5 * time.Second, "ok"},
		// Issue 17: 500 ms an answer under a 2 s timeout is healthy, however
		// many exchanges the probe makes: the timeout bounds each.
		{"500 ms an answer under a 2 s timeout", devsim.FaultSlow, 500 * time.Millisecond, 2 * time.Second, "ok"},
		{"slow beyond the timeout", devsim.FaultSlow, time.Minute, 300 * time.Millisecond, "timeout"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dev := newDev()
			sb := dev.Switchboard()
			sb.SetDelay(c.delay)
			if err := sb.Set(c.fault, true); err != nil {
				t.Fatal(err)
			}
			d := Attach(t, driver, dev, suffix, opts, c.timeout)
			r, err := d.Probe(context.Background())
			switch c.want {
			case "ok":
				if err != nil {
					t.Fatalf("probe: %v", err)
				}
			case "protocol":
				if !errors.Is(err, drivers.ErrProtocol) {
					t.Fatalf("probe: %v (reading %+v), want a protocol error", err, r)
				}
			case "timeout":
				if !errors.Is(err, os.ErrDeadlineExceeded) {
					t.Fatalf("probe: %v (reading %+v), want a timeout", err, r)
				}
			}
			if err != nil {
				if f := drivers.FaultFor(err); f.Code != wire.FaultNoResponse {
					t.Errorf("FaultFor(%v) = %s, want no_response", err, f.Code)
				}
			}
		})
	}
}

// Healthy probes a driver whose emulator has no fault on and checks that
// the reading is clean and shows wantKg within the display's resolution
// (one part in 200, enough for two decimals in any unit).
func Healthy(t *testing.T, d drivers.Prober, wantKg float64) {
	t.Helper()
	r, err := d.Probe(context.Background())
	if err != nil || len(r.Faults) != 0 {
		t.Fatalf("healthy scale: %+v, %v", r, err)
	}
	if got := r.Measurements["weight_kg"]; math.Abs(got-wantKg) > wantKg/200 {
		t.Errorf("weight_kg %v, want %v within the display's resolution (%s)", got, wantKg, r.Detail)
	}
}
