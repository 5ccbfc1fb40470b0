package drivers_test

import (
	"testing"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

func TestIdentityMismatch(t *testing.T) {
	inv := &wire.Identity{Vendor: "EPSON", Model: "TM-T88V", Serial: "X5E1"}
	cases := []struct {
		name     string
		expected *wire.Identity
		got      wire.Identity
		mismatch bool
	}{
		{"no inventory entry", nil, wire.Identity{Model: "anything"}, false},
		{"same device", inv, wire.Identity{Vendor: "Epson ", Model: "tm-t88v", Serial: "X5E1", Firmware: "1.28"}, false},
		{"device did not say its serial", inv, wire.Identity{Model: "TM-T88V"}, false},
		{"swapped model", inv, wire.Identity{Model: "TM-T20III", Serial: "X5E1"}, true},
		{"same model, other unit", inv, wire.Identity{Model: "TM-T88V", Serial: "Z9"}, true},
	}
	for _, c := range cases {
		f, bad := drivers.IdentityMismatch(c.expected, c.got)
		if bad != c.mismatch {
			t.Errorf("%s: mismatch = %v, want %v (%v)", c.name, bad, c.mismatch, f)
		}
		if bad && (f.Code != wire.FaultUnknownDevice || f.Detail == "") {
			t.Errorf("%s: fault = %+v", c.name, f)
		}
	}
}
