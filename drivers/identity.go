package drivers

import (
	"fmt"
	"strings"
	"sync"

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

// IdentitySchedule decides when a driver reads a device's identity, and
// remembers the last one read. Identity questions cost time on slow lines and
// some devices lack them, so drivers ask on the first probe, every Every
// probes (0: never again), and after the device was gone, since it may
// have been swapped meanwhile. The last identity is compared with the
// inventory on every probe. Safe for concurrent use.
type IdentitySchedule struct {
	Every    int
	Expected *wire.Identity

	mu     sync.Mutex
	id     *wire.Identity
	probes int // successful probes since the last read
	failed bool
}

// Due reports whether this probe should read identity.
func (s *IdentitySchedule) Due() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.id == nil || s.failed || (s.Every > 0 && s.probes >= s.Every)
}

// Read records an identity just read.
func (s *IdentitySchedule) Read(id wire.Identity) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.id = &id
	s.probes = 0
}

// Probed records the end of a probe: ok is false when it got no usable
// answer.
func (s *IdentitySchedule) Probed(ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ok {
		s.probes++
	}
	s.failed = !ok
}

// Mismatch compares the last identity read with the inventory.
func (s *IdentitySchedule) Mismatch() (wire.Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.id == nil {
		return wire.Fault{}, false
	}
	return IdentityMismatch(s.Expected, *s.id)
}
