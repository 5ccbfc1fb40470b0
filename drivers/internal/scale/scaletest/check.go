package scaletest

import (
	"errors"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Setup keys are read by the driver's own test, not checked here.
var setupKeys = map[string]bool{
	"address": true, // appended to the PTY path: "?databits=7&parity=E"
	"options": true, // driver options: "unit=g unstable_probes=1"
	"probes":  true, // how many probes to run; the last one is checked
	"note":    true, // free text
	// "requests: I0 I1 SI": every request the driver sent over all probes,
	// in order, each trimmed of its line ending (checked by Run)
	"requests": true,
}

// Check compares what a probe returned with the case's expectations:
//
//	error: protocol | timeout | busy   the probe must fail so (absent: must succeed)
//	faults: code code ...         exactly these fault codes (empty: none)
//	vendor/model/serial/firmware  identity fields
//	extra.NAME                    identity extra field
//	NAME: number                  measurement NAME (weight_kg, weight_stable, ...)
//	no NAME                       measurement NAME must be absent ("no: weight_kg")
func Check(t testing.TB, c Case, r drivers.Reading, err error) {
	t.Helper()
	want, wantErr := c.Get("error")
	switch {
	case wantErr && err == nil:
		t.Errorf("%s: probe succeeded (%s), want a %s error", c, r.Detail, want)
		return
	case !wantErr && err != nil:
		t.Errorf("%s: probe failed: %v", c, err)
		return
	case wantErr:
		switch want {
		case "protocol":
			if !errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("%s: error %v, want a protocol error", c, err)
			}
		case "timeout":
			if !errors.Is(err, os.ErrDeadlineExceeded) {
				t.Errorf("%s: error %v, want a timeout", c, err)
			}
		case "busy":
			// Busy is no reading and no failure: the collector skips the poll.
			if !errors.Is(err, drivers.ErrBusy) || errors.Is(err, drivers.ErrProtocol) {
				t.Errorf("%s: error %v, want drivers.ErrBusy", c, err)
			}
		default:
			t.Errorf("%s: unknown error kind %q (want protocol, timeout or busy)", c, want)
		}
		return
	}
	for _, k := range c.Keys {
		v := c.Expect[k]
		switch {
		case setupKeys[k]:
		case k == "faults":
			got := codes(r.Faults)
			if wantCodes := strings.Join(strings.Fields(v), " "); got != wantCodes {
				t.Errorf("%s: faults %q, want %q (%s)", c, got, wantCodes, r.Detail)
			}
		case k == "vendor", k == "model", k == "serial", k == "firmware", strings.HasPrefix(k, "extra."):
			if got := identityField(r.Identity, k); got != v {
				t.Errorf("%s: identity %s = %q, want %q", c, k, got, v)
			}
		case k == "no":
			for _, m := range strings.Fields(v) {
				if got, ok := r.Measurements[m]; ok {
					t.Errorf("%s: measurement %s = %v, want none", c, m, got)
				}
			}
		default:
			wantV, perr := strconv.ParseFloat(v, 64)
			if perr != nil {
				t.Errorf("%s: expectation %s: %q is not a number (unknown key?)", c, k, v)
				continue
			}
			got, ok := r.Measurements[k]
			if !ok {
				t.Errorf("%s: no measurement %s (have %v; %s)", c, k, r.Measurements, r.Detail)
			} else if math.Abs(got-wantV) > 1e-9*math.Max(1, math.Abs(wantV)) {
				t.Errorf("%s: %s = %v, want %v (%s)", c, k, got, wantV, r.Detail)
			}
		}
	}
}

func codes(fs []wire.Fault) string {
	var out []string
	for _, f := range fs {
		out = append(out, string(f.Code))
	}
	sort.Strings(out)
	return strings.Join(out, " ")
}

func identityField(id *wire.Identity, k string) string {
	if id == nil {
		return ""
	}
	switch k {
	case "vendor":
		return id.Vendor
	case "model":
		return id.Model
	case "serial":
		return id.Serial
	case "firmware":
		return id.Firmware
	}
	return id.Extra[strings.TrimPrefix(k, "extra.")]
}

// Options parses the "options" setup value ("unit=g unstable_probes=1").
func Options(c Case) map[string]string {
	out := map[string]string{}
	v, _ := c.Get("options")
	for _, kv := range strings.Fields(v) {
		k, val, _ := strings.Cut(kv, "=")
		out[k] = val
	}
	return out
}

// Probes returns the "probes" setup value, 1 by default.
func Probes(c Case) int {
	v, ok := c.Get("probes")
	if !ok {
		return 1
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 1
	}
	return n
}
