package uplink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/storewatch/storewatch/wire"
)

// Class is a retention class of the outbox. When the outbox is full,
// telemetry is evicted before any health event.
type Class uint8

// Retention classes.
const (
	ClassEvent     Class = 1 // device health state changes: evicted last
	ClassTelemetry Class = 2 // samples and heartbeats: evicted first
)

var classes = []Class{ClassEvent, ClassTelemetry}

// String returns the class name used in drop counters: "event", "telemetry".
func (c Class) String() string {
	switch c {
	case ClassEvent:
		return "event"
	case ClassTelemetry:
		return "telemetry"
	}
	return fmt.Sprintf("class(%d)", uint8(c))
}

// record is one outbox entry as stored in bbolt under its big-endian
// sequence number. The agent identity, version, type and sequence number
// are not stored: they are the same for every record or live in the key,
// and leaving them out keeps an event near 150 bytes on disk. Boot is an
// index into the meta bucket's boot table, so a long boot id is stored once.
//
// Layout: format(1) class(1) type(1) uvarint(boot) varint(unix nanos) body,
// where body is the message's JSON object without its header fields.
type record struct {
	class Class
	typ   wire.MessageType
	boot  uint64
	time  int64 // unix nanoseconds, UTC
	body  []byte
}

const recordFormat = 1

var typeCodes = map[wire.MessageType]byte{wire.TypeEvent: 1, wire.TypeMetrics: 2}

// Errors reading a record back from disk.
var errBadRecord = errors.New("unreadable outbox record")

func (r *record) encode() []byte {
	b := make([]byte, 0, 3+2*binary.MaxVarintLen64+len(r.body))
	b = append(b, recordFormat, byte(r.class), typeCodes[r.typ])
	b = binary.AppendUvarint(b, r.boot)
	b = binary.AppendVarint(b, r.time)
	return append(b, r.body...)
}

// decodeRecord parses a stored record. The body is not copied: the caller
// copies b first if it came from a bbolt transaction that ends.
func decodeRecord(b []byte) (record, error) {
	bad := func(format string, args ...any) (record, error) {
		return record{}, fmt.Errorf("%w: %s", errBadRecord, fmt.Sprintf(format, args...))
	}
	if len(b) < 3 {
		return bad("%d bytes", len(b))
	}
	if b[0] != recordFormat {
		return bad("format %d", b[0])
	}
	r := record{class: Class(b[1])}
	if r.class != ClassEvent && r.class != ClassTelemetry {
		return bad("class %d", b[1])
	}
	for t, c := range typeCodes {
		if c == b[2] {
			r.typ = t
		}
	}
	if r.typ == "" {
		return bad("type %d", b[2])
	}
	rest := b[3:]
	var n int
	if r.boot, n = binary.Uvarint(rest); n <= 0 {
		return bad("boot index")
	}
	rest = rest[n:]
	if r.time, n = binary.Varint(rest); n <= 0 {
		return bad("time")
	}
	rest = rest[n:]
	if len(rest) < 2 || rest[0] != '{' || rest[len(rest)-1] != '}' {
		return bad("body is not a JSON object")
	}
	r.body = rest
	return r, nil
}

// splitBody cuts the header fields off a message encoded by wire.Encode,
// leaving the JSON object of the type's own fields. encoding/json writes an
// embedded struct's fields first, so the encoded message starts with exactly
// the bytes of the encoded header minus its closing brace; the check makes a
// change in that layout an error rather than a corrupt record.
func splitBody(full []byte, h *wire.Header) ([]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	prefix := hb[:len(hb)-1]
	rest, ok := bytes.CutPrefix(full, prefix)
	if !ok || len(rest) == 0 {
		return nil, fmt.Errorf("uplink: encoded %s does not start with its header", h.Type)
	}
	if rest[0] == '}' {
		return []byte("{}"), nil
	}
	if rest[0] != ',' {
		return nil, fmt.Errorf("uplink: encoded %s: unexpected byte after header", h.Type)
	}
	body := make([]byte, len(rest))
	body[0] = '{'
	copy(body[1:], rest[1:])
	return body, nil
}

// joinBody is splitBody's inverse: the wire payload of a stored record.
func joinBody(h *wire.Header, body []byte) ([]byte, error) {
	hb, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(body) <= 2 {
		return hb, nil
	}
	out := make([]byte, 0, len(hb)+len(body))
	out = append(out, hb[:len(hb)-1]...)
	out = append(out, ',')
	return append(out, body[1:]...), nil
}
