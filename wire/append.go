package wire

import (
	"math"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// The hot messages of an agent (Event, Metrics) are encoded by hand: the
// outbox encodes every one it accepts, and encoding/json's reflection was
// most of an append's time. The appenders below write exactly the bytes
// json.Marshal writes (same field order, omitempty rules, string escaping,
// number and time formats; FuzzAppendMatchesMarshal compares the two). On
// anything they do not handle byte for byte the cheap way — a string that
// needs escaping beyond the usual, a time json.Marshal refuses, a NaN, an
// unknown severity — they report !ok and Encode falls back to json.Marshal,
// which then produces the same bytes or the same error as before.

// appendEvent appends m's JSON encoding to b.
func appendEvent(b []byte, m *Event) ([]byte, bool) {
	b, ok := appendHeader(b, &m.Header)
	if !ok {
		return b, false
	}
	b = append(b, `,"device":`...)
	if b, ok = appendString(b, m.Device); !ok {
		return b, false
	}
	if m.Kind != "" {
		b = append(b, `,"kind":`...)
		if b, ok = appendString(b, m.Kind); !ok {
			return b, false
		}
	}
	b = append(b, `,"state":`...)
	if b, ok = appendString(b, string(m.State)); !ok {
		return b, false
	}
	b = append(b, `,"previous":`...)
	if b, ok = appendString(b, string(m.Previous)); !ok {
		return b, false
	}
	if len(m.Faults) > 0 {
		b = append(b, `,"faults":[`...)
		for i := range m.Faults {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendFault(b, &m.Faults[i]); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	b = append(b, `,"since":`...)
	if b, ok = appendTime(b, m.Since); !ok {
		return b, false
	}
	if m.Reason != "" {
		b = append(b, `,"reason":`...)
		if b, ok = appendString(b, m.Reason); !ok {
			return b, false
		}
	}
	if m.Identity != nil {
		b = append(b, `,"identity":`...)
		if b, ok = appendIdentity(b, m.Identity); !ok {
			return b, false
		}
	}
	if len(m.Measurements) > 0 {
		b = append(b, `,"measurements":{`...)
		keys := make([]string, 0, len(m.Measurements))
		for k := range m.Measurements {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendString(b, k); !ok {
				return b, false
			}
			b = append(b, ':')
			if b, ok = appendFloat(b, m.Measurements[k]); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	}
	if m.Holder != nil {
		b = append(b, `,"holder":`...)
		if b, ok = appendHolder(b, m.Holder); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendMetrics appends m's JSON encoding to b.
func appendMetrics(b []byte, m *Metrics) ([]byte, bool) {
	b, ok := appendHeader(b, &m.Header)
	if !ok {
		return b, false
	}
	if len(m.Samples) > 0 {
		b = append(b, `,"samples":[`...)
		for i := range m.Samples {
			s := &m.Samples[i]
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"device":`...)
			if b, ok = appendString(b, s.Device); !ok {
				return b, false
			}
			b = append(b, `,"name":`...)
			if b, ok = appendString(b, s.Name); !ok {
				return b, false
			}
			b = append(b, `,"value":`...)
			if b, ok = appendFloat(b, s.Value); !ok {
				return b, false
			}
			b = append(b, `,"time":`...)
			if b, ok = appendTime(b, s.Time); !ok {
				return b, false
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if m.Heartbeat != nil {
		b = append(b, `,"heartbeat":`...)
		if b, ok = appendHeartbeat(b, m.Heartbeat); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

// appendHeader appends the header's fields after an opening brace, without
// the closing one.
func appendHeader(b []byte, h *Header) ([]byte, bool) {
	b = append(b, `{"v":`...)
	b = strconv.AppendInt(b, int64(h.V), 10)
	b = append(b, `,"type":`...)
	b, ok := appendString(b, string(h.Type))
	if !ok {
		return b, false
	}
	b = append(b, `,"tenant":`...)
	if b, ok = appendString(b, h.Tenant); !ok {
		return b, false
	}
	b = append(b, `,"store":`...)
	if b, ok = appendString(b, h.Store); !ok {
		return b, false
	}
	b = append(b, `,"agent":`...)
	if b, ok = appendString(b, h.Agent); !ok {
		return b, false
	}
	if h.Boot != "" {
		b = append(b, `,"boot":`...)
		if b, ok = appendString(b, h.Boot); !ok {
			return b, false
		}
	}
	if h.Seq != 0 {
		b = append(b, `,"seq":`...)
		b = strconv.AppendUint(b, h.Seq, 10)
	}
	b = append(b, `,"time":`...)
	return appendTime(b, h.Time)
}

func appendFault(b []byte, f *Fault) ([]byte, bool) {
	sev, known := severityNames[f.Severity]
	if !known {
		return b, false // json.Marshal reports MarshalText's error
	}
	b = append(b, `{"code":`...)
	b, ok := appendString(b, string(f.Code))
	if !ok {
		return b, false
	}
	b = append(b, `,"severity":`...)
	if b, ok = appendString(b, sev); !ok {
		return b, false
	}
	b = append(b, `,"remedy":`...)
	if b, ok = appendString(b, string(f.Remedy)); !ok {
		return b, false
	}
	if f.Detail != "" {
		b = append(b, `,"detail":`...)
		if b, ok = appendString(b, f.Detail); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendIdentity(b []byte, id *Identity) ([]byte, bool) {
	b = append(b, '{')
	first := true
	ok := true
	field := func(name, v string) {
		if !ok || v == "" {
			return
		}
		if !first {
			b = append(b, ',')
		}
		first = false
		b = append(b, name...)
		b, ok = appendString(b, v)
	}
	field(`"vendor":`, id.Vendor)
	field(`"model":`, id.Model)
	field(`"serial":`, id.Serial)
	field(`"firmware":`, id.Firmware)
	if !ok {
		return b, false
	}
	if len(id.Extra) > 0 {
		if !first {
			b = append(b, ',')
		}
		b = append(b, `"extra":`...)
		if b, ok = appendStringMap(b, id.Extra); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendStringMap(b []byte, m map[string]string) ([]byte, bool) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	ok := true
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		if b, ok = appendString(b, k); !ok {
			return b, false
		}
		b = append(b, ':')
		if b, ok = appendString(b, m[k]); !ok {
			return b, false
		}
	}
	return append(b, '}'), true
}

func appendHolder(b []byte, h *Holder) ([]byte, bool) {
	b = append(b, '{')
	ok := true
	if h.Process != "" {
		b = append(b, `"process":`...)
		if b, ok = appendString(b, h.Process); !ok {
			return b, false
		}
	}
	if h.PID != 0 {
		if h.Process != "" {
			b = append(b, ',')
		}
		b = append(b, `"pid":`...)
		b = strconv.AppendInt(b, int64(h.PID), 10)
	}
	return append(b, '}'), true
}

func appendHeartbeat(b []byte, hb *Heartbeat) ([]byte, bool) {
	b = append(b, `{"uptime_s":`...)
	b, ok := appendFloat(b, hb.Uptime)
	if !ok {
		return b, false
	}
	b = append(b, `,"outbox_depth":`...)
	b = strconv.AppendInt(b, int64(hb.OutboxDepth), 10)
	b = append(b, `,"outbox_bytes":`...)
	b = strconv.AppendInt(b, hb.OutboxBytes, 10)
	b = append(b, `,"oldest_age_s":`...)
	if b, ok = appendFloat(b, hb.OldestAge); !ok {
		return b, false
	}
	if len(hb.Dropped) > 0 {
		keys := make([]string, 0, len(hb.Dropped))
		for k := range hb.Dropped {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		b = append(b, `,"dropped":{`...)
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendString(b, k); !ok {
				return b, false
			}
			b = append(b, ':')
			b = strconv.AppendUint(b, hb.Dropped[k], 10)
		}
		b = append(b, '}')
	}
	b = append(b, `,"reconnects":`...)
	b = strconv.AppendUint(b, hb.Reconnects, 10)
	if len(hb.OutboxIncidents) > 0 {
		b = append(b, `,"outbox_incidents":[`...)
		for i, s := range hb.OutboxIncidents {
			if i > 0 {
				b = append(b, ',')
			}
			if b, ok = appendString(b, s); !ok {
				return b, false
			}
		}
		b = append(b, ']')
	}
	if hb.RSSBytes != 0 {
		b = append(b, `,"rss_bytes":`...)
		b = strconv.AppendUint(b, hb.RSSBytes, 10)
	}
	if hb.Goroutines != 0 {
		b = append(b, `,"goroutines":`...)
		b = strconv.AppendInt(b, int64(hb.Goroutines), 10)
	}
	if c := hb.Config; c != nil {
		b = append(b, `,"config":{"version":`...)
		if b, ok = appendString(b, c.Version); !ok {
			return b, false
		}
		b = append(b, `,"source":`...)
		if b, ok = appendString(b, c.Source); !ok {
			return b, false
		}
		if c.Error != "" {
			b = append(b, `,"error":`...)
			if b, ok = appendString(b, c.Error); !ok {
				return b, false
			}
		}
		if c.Failed != "" {
			b = append(b, `,"failed":`...)
			if b, ok = appendString(b, c.Failed); !ok {
				return b, false
			}
		}
		b = append(b, '}')
	}
	return append(b, '}'), true
}

// appendString appends s as a JSON string the way json.Marshal does. It
// handles printable ASCII other than json.Marshal's HTML-escaped <, > and &,
// and valid UTF-8 other than U+2028 and U+2029; anything else (which
// json.Marshal escapes or replaces) is !ok.
func appendString(b []byte, s string) ([]byte, bool) {
	for i := 0; i < len(s); {
		c := s[i]
		if plainASCII[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			return b, false
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 || r == '\u2028' || r == '\u2029' {
			return b, false
		}
		i += size
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"'), true
}

// plainASCII marks the bytes json.Marshal copies into a string as they
// are: printable ASCII but for ", \ and the HTML-escaped <, > and &.
var plainASCII = func() (t [256]bool) {
	for c := 0x20; c < utf8.RuneSelf; c++ {
		t[c] = c != '"' && c != '\\' && c != '<' && c != '>' && c != '&'
	}
	return t
}()

// appendFloat appends f as json.Marshal writes a float64 (ES6 number
// formatting); NaN and infinities, which json.Marshal refuses, are !ok.
func appendFloat(b []byte, f float64) ([]byte, bool) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return b, false
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// clean up e-09 to e-9
		n := len(b)
		if n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b, true
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, quoted). Times MarshalJSON refuses (a year outside
// 0000-9999, an offset that is not whole minutes or not within a day) are
// !ok.
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}
