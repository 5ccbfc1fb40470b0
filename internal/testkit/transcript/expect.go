package transcript

import (
	"errors"
	"maps"
	"math"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Fields reads "key=value key2=value_with_spaces" (underscores stand for
// spaces) into a map.
func Fields(s string) map[string]string {
	out := map[string]string{}
	for _, f := range strings.Fields(s) {
		k, v, _ := strings.Cut(f, "=")
		out[k] = strings.ReplaceAll(v, "_", " ")
	}
	return out
}

// Identity builds an identity from Fields: vendor, model, serial and
// firmware fill the named fields, any other key goes to Extra.
func Identity(s string) *wire.Identity {
	id := &wire.Identity{Extra: map[string]string{}}
	for k, v := range Fields(s) {
		switch k {
		case "vendor":
			id.Vendor = v
		case "model":
			id.Model = v
		case "serial":
			id.Serial = v
		case "firmware":
			id.Firmware = v
		default:
			id.Extra[k] = v
		}
	}
	return id
}

// Check compares what a probe returned with the case's expectations (see the
// package comment): "! error", then "! faults", "! identity", "! measured"
// and "! not_measured" where the case has them. It reports whether the
// probe failed as the case expects it to, or succeeded when it should.
func Check(t testing.TB, c Case, r drivers.Reading, err error) bool {
	t.Helper()
	name := c.String()
	switch want := c.Expect["error"]; want {
	case "":
		if err != nil {
			t.Errorf("%s: probe failed: %v", name, err)
			return false
		}
	case "protocol":
		if !errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("%s: err = %v (reading %+v), want a protocol error", name, err, r)
		}
		return err != nil
	case "timeout":
		if !errors.Is(err, os.ErrDeadlineExceeded) || drivers.FaultFor(err).Code != wire.FaultNoResponse {
			t.Errorf("%s: err = %v (reading %+v), want a timeout (no_response)", name, err, r)
		}
		return err != nil
	case "busy":
		// Busy is no reading and no failure: the collector skips the poll.
		if !errors.Is(err, drivers.ErrBusy) || errors.Is(err, drivers.ErrProtocol) {
			t.Errorf("%s: err = %v, want drivers.ErrBusy", name, err)
		}
		return err != nil
	default:
		t.Fatalf("%s: unknown expectation \"! error %s\" (want protocol, timeout or busy)", name, want)
	}
	if want, ok := c.Expect["faults"]; ok {
		CheckFaults(t, name, want, r.Faults)
	}
	if want, ok := c.Expect["identity"]; ok {
		CheckIdentity(t, name, want, r.Identity)
	}
	measured := Fields(c.Expect["measured"])
	for _, k := range slices.Sorted(maps.Keys(measured)) {
		v := measured[k]
		want, perr := strconv.ParseFloat(v, 64)
		if perr != nil {
			t.Errorf("%s: ! measured %s=%s: not a number", name, k, v)
			continue
		}
		got, ok := r.Measurements[k]
		if !ok {
			t.Errorf("%s: no measurement %s (have %v; %s)", name, k, r.Measurements, r.Detail)
		} else if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
			t.Errorf("%s: %s = %v, want %v (%s)", name, k, got, want, r.Detail)
		}
	}
	for _, k := range strings.Fields(c.Expect["not_measured"]) {
		if got, ok := r.Measurements[k]; ok {
			t.Errorf("%s: measurement %s = %v, want none", name, k, got)
		}
	}
	return true
}

// CheckFaults compares fault codes with a comma-separated list ("none" for
// no faults) and checks that every fault carries the vocabulary's severity
// and remedy and says what was seen.
func CheckFaults(t testing.TB, name, want string, got []wire.Fault) {
	t.Helper()
	var codes []string
	for _, f := range got {
		codes = append(codes, string(f.Code))
		info, ok := wire.Lookup(f.Code)
		if !ok || f.Severity != info.Severity || f.Remedy != info.Remedy {
			t.Errorf("%s: fault %+v does not carry the vocabulary's severity and remedy", name, f)
		}
		if f.Detail == "" {
			t.Errorf("%s: fault %s has no detail", name, f.Code)
		}
	}
	slices.Sort(codes)
	have := strings.Join(codes, ",")
	if have == "" {
		have = "none"
	}
	if have != want {
		t.Errorf("%s: faults = %s, want %s (%+v)", name, have, want, got)
	}
}

// CheckIdentity compares an identity with "key=value" fields; "none" means
// no identity. Keys not in want are not checked.
func CheckIdentity(t testing.TB, name, want string, got *wire.Identity) {
	t.Helper()
	if want == "none" {
		if got != nil {
			t.Errorf("%s: identity = %+v, want none", name, got)
		}
		return
	}
	if got == nil {
		t.Errorf("%s: no identity, want %s", name, want)
		return
	}
	have := map[string]string{"vendor": got.Vendor, "model": got.Model, "serial": got.Serial, "firmware": got.Firmware}
	for k, v := range got.Extra {
		have[k] = v
	}
	fields := Fields(want)
	for _, k := range slices.Sorted(maps.Keys(fields)) {
		if v := fields[k]; have[k] != v {
			t.Errorf("%s: identity %s = %q, want %q", name, k, have[k], v)
		}
	}
}
