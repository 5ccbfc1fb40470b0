package transcript

import (
	"slices"
	"strings"
	"testing"

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
	for k, v := range Fields(want) {
		if have[k] != v {
			t.Errorf("%s: identity %s = %q, want %q", name, k, have[k], v)
		}
	}
}
