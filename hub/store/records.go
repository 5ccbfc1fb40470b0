package store

import (
	"encoding/json"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// Every event the hub applies writes its device's record and a line of the
// event log, and encoding/json's reflection was most of a commit's CPU. The
// two are encoded by hand here: the bytes are exactly json.Marshal's (field
// order, omitempty and omitzero, escaping, number and time formats;
// TestRecordsMatchMarshal and FuzzRecordsMatchMarshal compare them), so the
// file format does not change and every reader (this store's, an export, an
// older hub) reads them as before. What the appenders do not reproduce byte
// for byte (see wire.AppendJSONString) goes through json.Marshal.

// encodeRecord returns v's JSON encoding, appended to buf for the records
// encoded by hand (the result then shares buf's array: bbolt keeps the
// slice until the transaction ends, so the caller must not overwrite it).
// Those come by pointer (*incident.DeviceRecord, *incident.LogEntry): a
// 300-byte record passed as an any by value is a copy per record.
func encodeRecord(buf []byte, v any) ([]byte, []byte, error) {
	start := len(buf)
	var out []byte
	ok := false
	switch x := v.(type) {
	case *incident.DeviceRecord:
		out, ok = appendDevice(buf, x)
	case *incident.LogEntry:
		out, ok = appendLogEntry(buf, x)
	}
	if ok {
		return out, out[start:len(out):len(out)], nil
	}
	data, err := json.Marshal(v)
	return buf[:start], data, err
}

// jsonObject appends an object's members; after the first !ok it appends
// nothing and ok stays false.
type jsonObject struct {
	b     []byte
	ok    bool
	first bool
}

func newObject(b []byte) jsonObject {
	return jsonObject{b: append(b, '{'), ok: true, first: true}
}

func (o *jsonObject) key(name string) {
	if !o.first {
		o.b = append(o.b, ',')
	}
	o.first = false
	o.b = append(o.b, '"')
	o.b = append(o.b, name...)
	o.b = append(o.b, '"', ':')
}

func (o *jsonObject) str(name, v string, omitEmpty bool) {
	if !o.ok || omitEmpty && v == "" {
		return
	}
	o.key(name)
	o.b, o.ok = wire.AppendJSONString(o.b, v)
}

func (o *jsonObject) time(name string, t time.Time, omitZero bool) {
	if !o.ok || omitZero && t.IsZero() {
		return
	}
	o.key(name)
	o.b, o.ok = wire.AppendJSONTime(o.b, t)
}

func (o *jsonObject) uint(name string, v uint64) {
	if !o.ok || v == 0 {
		return
	}
	o.key(name)
	o.b = strconv.AppendUint(o.b, v, 10)
}

// array appends a non-empty array (omitempty) of n elements, each
// appended by elem.
func (o *jsonObject) array(name string, n int, elem func(b []byte, i int) ([]byte, bool)) {
	if !o.ok || n == 0 {
		return
	}
	o.key(name)
	o.elems(n, elem)
}

// elems appends n elements as a JSON array, each appended by elem.
func (o *jsonObject) elems(n int, elem func(b []byte, i int) ([]byte, bool)) {
	o.b = append(o.b, '[')
	for i := 0; i < n && o.ok; i++ {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b, o.ok = elem(o.b, i)
	}
	o.b = append(o.b, ']')
}

func (o *jsonObject) end() ([]byte, bool) {
	if !o.ok {
		return o.b, false
	}
	return append(o.b, '}'), true
}

// appendDevice appends d as json.Marshal writes an incident.DeviceRecord.
func appendDevice(b []byte, d *incident.DeviceRecord) ([]byte, bool) {
	o := newObject(b)
	o.str("tenant", d.Tenant, false)
	o.str("store", d.Store, false)
	o.str("agent", d.Agent, false)
	o.str("id", d.ID, false)
	o.str("kind", d.Kind, true)
	o.str("driver", d.Driver, true)
	o.str("location", d.Location, true)
	o.str("criticality", string(d.Criticality), true)
	if o.ok {
		o.key("identity")
		o.b, o.ok = wire.AppendJSONIdentity(o.b, &d.Identity)
	}
	o.str("state", string(d.State), false)
	o.str("reported", string(d.Reported), false)
	if o.ok && d.Holder != nil {
		o.key("holder")
		o.b, o.ok = wire.AppendJSONHolder(o.b, d.Holder)
	}
	o.array("faults", len(d.Faults), func(b []byte, i int) ([]byte, bool) { return wire.AppendJSONFault(b, &d.Faults[i]) })
	o.time("since", d.Since, true)
	o.uint("last_seq", d.LastSeq)
	o.time("updated", d.Updated, true)
	if o.ok && len(d.Changes) > 0 {
		// A map, as json.Marshal writes one: its keys in order.
		o.key("changes")
		o.b = append(o.b, '{')
		for i, code := range slices.Sorted(maps.Keys(d.Changes)) {
			if i > 0 {
				o.b = append(o.b, ',')
			}
			o.b, o.ok = wire.AppendJSONString(o.b, string(code))
			o.b = append(o.b, ':')
			if ts := d.Changes[code]; ts == nil {
				o.b = append(o.b, "null"...) // as json.Marshal writes a nil slice
			} else {
				o.elems(len(ts), func(b []byte, i int) ([]byte, bool) { return wire.AppendJSONTime(b, ts[i]) })
			}
		}
		o.b = append(o.b, '}')
	}
	return o.end()
}

// appendLogEntry appends l as json.Marshal writes an incident.LogEntry.
func appendLogEntry(b []byte, l *incident.LogEntry) ([]byte, bool) {
	o := newObject(b)
	o.time("at", l.At, false)
	o.str("kind", string(l.Kind), false)
	o.str("tenant", l.Tenant, false)
	o.str("store", l.Store, false)
	o.str("agent", l.Agent, true)
	o.str("device", l.Device, true)
	o.str("device_kind", l.DevKind, true)
	o.str("vendor", l.Vendor, true)
	o.str("model", l.Model, true)
	o.str("firmware", l.Firmware, true)
	o.str("state", l.State, true)
	o.array("faults", len(l.Faults), func(b []byte, i int) ([]byte, bool) { return wire.AppendJSONString(b, string(l.Faults[i])) })
	o.time("since", l.Since, true)
	if o.ok && l.Duration != 0 {
		o.key("duration_s")
		o.b, o.ok = wire.AppendJSONFloat(o.b, l.Duration)
	}
	if o.ok && l.Flapping {
		o.key("flapping")
		o.b = append(o.b, "true"...)
	}
	o.str("suppressed", l.Suppressed, true)
	o.str("incident", l.Incident, true)
	o.str("detail", l.Detail, true)
	return o.end()
}
