package uplink

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"time"

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
// are not stored: they are the same for every record or live in the key.
// Boot is an index into the meta bucket's boot table, so a long boot id is
// stored once.
//
// Layout, format 2 (written):
//
//	2, class<<4|type, uvarint(boot), varint(unix nanos), packed body
//
// where the body (the message's JSON object without its header fields) is
// packed JSON (pack.go). Format 1 (read, and written for a body that cannot
// be packed) is format(1) class(1) type(1) uvarint(boot) varint(unix nanos)
// and the body's JSON as it is.
type record struct {
	class Class
	typ   wire.MessageType
	boot  uint64
	time  int64  // unix nanoseconds, UTC
	body  []byte // the JSON object, unpacked
}

const (
	recordPlain  = 1
	recordPacked = 2
)

var typeCodes = map[wire.MessageType]byte{wire.TypeEvent: 1, wire.TypeMetrics: 2}

func typeOfCode(c byte) wire.MessageType {
	for t, tc := range typeCodes {
		if tc == c {
			return t
		}
	}
	return ""
}

// Errors reading a record back from disk.
var errBadRecord = errors.New("unreadable outbox record")

func (r *record) encode() []byte {
	return r.appendTo(make([]byte, 0, r.maxSize()))
}

// maxSize bounds the length of the encoded record.
func (r *record) maxSize() int { return 3 + 2*binary.MaxVarintLen64 + len(r.body) }

// appendTo appends the encoded record to dst.
func (r *record) appendTo(dst []byte) []byte {
	start := len(dst)
	b := append(dst, recordPacked, byte(r.class)<<4|typeCodes[r.typ])
	b = binary.AppendUvarint(b, r.boot)
	b = binary.AppendVarint(b, r.time)
	if packed, ok := appendPacked(b, r.body, r.time); ok {
		return packed
	}
	b = append(b[:start], recordPlain, byte(r.class), typeCodes[r.typ])
	b = binary.AppendUvarint(b, r.boot)
	b = binary.AppendVarint(b, r.time)
	return append(b, r.body...)
}

// decodeRecord parses a stored record and unpacks its body into new
// memory, so b may belong to a bbolt transaction that ends.
func decodeRecord(b []byte) (record, error) {
	bad := func(format string, args ...any) (record, error) {
		return record{}, fmt.Errorf("%w: %s", errBadRecord, fmt.Sprintf(format, args...))
	}
	var r record
	var rest []byte
	switch {
	case len(b) >= 3 && b[0] == recordPlain:
		r.class, r.typ, rest = Class(b[1]), typeOfCode(b[2]), b[3:]
	case len(b) >= 2 && b[0] == recordPacked:
		r.class, r.typ, rest = Class(b[1]>>4), typeOfCode(b[1]&0x0f), b[2:]
	case len(b) < 3:
		return bad("%d bytes", len(b))
	default:
		return bad("format %d", b[0])
	}
	if r.class != ClassEvent && r.class != ClassTelemetry {
		return bad("class %d", r.class)
	}
	if r.typ == "" {
		return bad("type of %x", b[:3])
	}
	var n int
	if r.boot, n = binary.Uvarint(rest); n <= 0 {
		return bad("boot index")
	}
	rest = rest[n:]
	if r.time, n = binary.Varint(rest); n <= 0 {
		return bad("time")
	}
	rest = rest[n:]
	if b[0] == recordPacked {
		var err error
		if rest, err = appendUnpacked(make([]byte, 0, 2*len(rest)+32), rest, r.time); err != nil {
			return bad("%v", err)
		}
	} else {
		rest = append([]byte(nil), rest...)
	}
	if len(rest) < 2 || rest[0] != '{' || rest[len(rest)-1] != '}' {
		return bad("body is not a JSON object")
	}
	r.body = rest
	return r, nil
}

// headerTemplate writes the JSON header of an outbox message for one
// agent, boot and type without encoding/json (which spends a microsecond on
// it, most of that on the time). It holds encoding/json's own output for
// that header up to the sequence number; newHeaderTemplate checks the layout
// it relies on (seq and time last, in that order) and returns nil if
// encoding/json or wire.Header ever write something else, and callers then
// fall back to json.Marshal.
type headerTemplate struct {
	pre []byte // {"v":1,"type":...,"boot":"...","seq":
}

const templateTail = `"seq":1,"time":"1970-01-01T00:00:00Z"}`

func newHeaderTemplate(typ wire.MessageType, id wire.AgentID, boot string) *headerTemplate {
	hb, err := json.Marshal(&wire.Header{V: wire.Version, Type: typ, AgentID: id, Boot: boot, Seq: 1, Time: time.Unix(0, 0).UTC()})
	if err != nil || !bytes.HasSuffix(hb, []byte(templateTail)) {
		return nil
	}
	return &headerTemplate{pre: hb[:len(hb)-len(templateTail)+len(`"seq":`)]}
}

// appendHeader writes the header with seq (not 0) and t (UTC, years 0 to
// 9999), without its closing brace.
func (t *headerTemplate) appendHeader(dst []byte, seq uint64, tm time.Time) []byte {
	dst = append(dst, t.pre...)
	dst = strconv.AppendUint(dst, seq, 10)
	dst = append(dst, `,"time":"`...)
	dst = tm.AppendFormat(dst, time.RFC3339Nano)
	return append(dst, '"')
}

// payload writes the wire message of a record with sequence number seq.
func (t *headerTemplate) payload(seq uint64, r *record) []byte {
	out := make([]byte, 0, len(t.pre)+64+len(r.body))
	out = t.appendHeader(out, seq, time.Unix(0, r.time).UTC())
	return appendBody(out, r.body)
}

// appendBody joins a header without its closing brace and a body.
func appendBody(head, body []byte) []byte {
	if len(body) <= 2 {
		return append(head, '}')
	}
	head = append(head, ',')
	return append(head, body[1:]...)
}

// cutBody returns the body of a message that wire.Encode wrote with the
// header this template makes for seq 1: the bytes after the header, with
// the comma that follows it overwritten by '{' (full is changed; the body
// shares its memory). ok is false if full does not start that way.
func (t *headerTemplate) cutBody(full []byte) (body []byte, ok bool) {
	rest, found := bytes.CutPrefix(full, t.pre)
	if !found {
		return nil, false
	}
	rest, found = bytes.CutPrefix(rest, []byte(`1,"time":"`))
	if !found {
		return nil, false
	}
	q := bytes.IndexByte(rest, '"')
	if q < 0 || q+1 >= len(rest) {
		return nil, false
	}
	switch rest = rest[q+1:]; rest[0] {
	case '}':
		return []byte("{}"), true
	case ',':
		rest[0] = '{'
		return rest, true
	}
	return nil, false
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
	return appendBody(hb[:len(hb)-1], body), nil
}

// headerTemplates caches one agent's header templates by boot id and type.
type headerTemplates struct {
	id wire.AgentID
	mu sync.Mutex
	m  map[templateKey]*headerTemplate // a nil entry: the layout check failed
}

type templateKey struct {
	boot string
	typ  wire.MessageType
}

func (h *headerTemplates) get(typ wire.MessageType, boot string) *headerTemplate {
	k := templateKey{boot, typ}
	h.mu.Lock()
	defer h.mu.Unlock()
	t, ok := h.m[k]
	if !ok {
		if h.m == nil {
			h.m = map[templateKey]*headerTemplate{}
		}
		t = newHeaderTemplate(typ, h.id, boot)
		h.m[k] = t
	}
	return t
}

// payload rebuilds the wire message of a stored record.
func (h *headerTemplates) payload(boot string, seq uint64, r *record) ([]byte, error) {
	if t := h.get(r.typ, boot); t != nil && seq != 0 {
		return t.payload(seq, r), nil
	}
	hd := wire.Header{V: wire.Version, Type: r.typ, AgentID: h.id, Boot: boot, Seq: seq, Time: time.Unix(0, r.time).UTC()}
	return joinBody(&hd, r.body)
}
