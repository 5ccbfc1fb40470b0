package drivers

import (
	"fmt"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// IdentityMismatch compares what a device says it is with what the inventory
// expects (Spec.Expected) and returns an unknown_device fault when they
// differ: a swapped printer is worth a ticket even when it works. Only fields
// both sides know are compared, case and surrounding spaces ignored; firmware
// is left out because updates change it legitimately.
func IdentityMismatch(expected *wire.Identity, got wire.Identity) (wire.Fault, bool) {
	if expected == nil {
		return wire.Fault{}, false
	}
	var diffs []string
	for _, f := range []struct{ name, want, have string }{
		{"vendor", expected.Vendor, got.Vendor},
		{"model", expected.Model, got.Model},
		{"serial", expected.Serial, got.Serial},
	} {
		w, h := strings.TrimSpace(f.want), strings.TrimSpace(f.have)
		if w != "" && h != "" && !strings.EqualFold(w, h) {
			diffs = append(diffs, fmt.Sprintf("%s %q, expected %q", f.name, h, w))
		}
	}
	if len(diffs) == 0 {
		return wire.Fault{}, false
	}
	return wire.NewFault(wire.FaultUnknownDevice, strings.Join(diffs, "; ")), true
}
