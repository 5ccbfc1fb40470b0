package store

import (
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// What a commit means, whichever backend stores it: these rules are shared
// so that bbolt and PostgreSQL keep the same records from the same changes.

// Latest returns the last version of each record in xs, in the order of
// those last versions: a batch often carries several versions of one record
// and only the last is written.
func Latest[T any](xs []T, key func(T) string) []T {
	if len(xs) < 2 {
		return xs
	}
	last := make(map[string]int, len(xs))
	for i, x := range xs {
		last[key(x)] = i
	}
	out := make([]T, 0, len(last))
	for i, x := range xs {
		if last[key(x)] == i {
			out = append(out, x)
		}
	}
	return out
}

// IncidentNumber is the number in an incident id (INC-000042: 42), which
// orders incidents newest first; 0 for an id of another form.
func IncidentNumber(id string) uint64 {
	n, _ := strconv.ParseUint(strings.TrimPrefix(id, "INC-"), 10, 64)
	return n
}

// SplitFingerprint reads tenant and fault code from a device fault's
// fingerprint (tenant/store/device/fault; segments cannot contain '/').
func SplitFingerprint(key string) (tenant string, code wire.FaultCode, ok bool) {
	parts := strings.Split(key, "/")
	if len(parts) != 4 {
		return "", "", false
	}
	return parts[0], wire.FaultCode(parts[3]), true
}

// LinkTicket adds a helpdesk ticket to a stored incident
// (Changes.Tickets). A later word about the same ticket (a person closed
// it) keeps when it was linked and its URL.
func LinkTicket(inc *incident.Incident, l incident.TicketLink) {
	t := l.Ticket
	if old := inc.Helpdesk; old != nil && old.Helpdesk == t.Helpdesk && old.ID == t.ID {
		t.Linked = old.Linked
		if t.URL == "" {
			t.URL = old.URL
		}
	}
	inc.Helpdesk = &t
	inc.Version++
}

// NewInstalls returns an Install for each device record that is new or
// names another vendor or model than the device's last Install (last looks
// it up in the store). A record without vendor and model (an identity the
// agent could not read) does not end a known stretch: that is not a swap.
func NewInstalls(devices []incident.DeviceRecord, last func(tenant, store, device string) (Install, bool, error)) ([]Install, error) {
	var out []Install
	seen := map[[3]string]Install{} // devices already looked up in this batch
	for _, d := range devices {
		k := [3]string{d.Tenant, d.Store, d.ID}
		prev, ok := seen[k]
		if !ok {
			var err error
			if prev, ok, err = last(d.Tenant, d.Store, d.ID); err != nil {
				return nil, err
			}
		}
		id := d.Identity
		sameModel := prev.Vendor == id.Vendor && prev.Model == id.Model || id.Vendor == "" && id.Model == ""
		switch {
		case ok && sameModel && (id.Serial == "" || id.Serial == prev.Serial):
			continue
		case ok && sameModel && prev.Serial == "":
			// The serial number is learnt: the same stretch, now with it.
			in := prev
			in.Serial = id.Serial
			out = append(out, in)
			seen[k] = in
			continue
		}
		in := Install{Tenant: d.Tenant, Store: d.Store, Agent: d.Agent, Device: d.ID, Kind: d.Kind, Vendor: id.Vendor, Model: id.Model,
			Serial: id.Serial, From: d.Updated}
		if ok && sameModel {
			// A new unit of the same model (a new serial on the device id):
			// a replacement, recorded as the start of its own stretch.
			in.Vendor, in.Model = prev.Vendor, prev.Model
		}
		if ok && in.From.Before(prev.From) {
			in.From = prev.From // a stretch never starts before the one it ends
		}
		out = append(out, in)
		seen[k] = in
	}
	return out, nil
}
