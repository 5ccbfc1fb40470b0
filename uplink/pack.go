package uplink

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Packed JSON is how a record keeps its body on disk: the JSON that
// wire.Encode wrote, with the strings that recur in every message replaced
// by a byte or two. Compact JSON as encoding/json writes it never holds a
// byte below 0x20 (there is no whitespace, and control characters in
// strings are escaped), so those bytes are free to stand for something:
//
//	0x01..0x1B   a whole JSON string from packDict[b-1]; keys carry their colon
//	0x1C x       packDict[packShort+x]
//	0x1D varint  a timestamp string exactly as time.Time's JSON writes a UTC
//	             time, as the zigzag varint of its unix nanoseconds minus the
//	             record's own time (so "since" and sample times cost a few bytes)
//
// Every other byte stands for itself. Unpacking gives back the JSON byte for
// byte, so the published payload and the export are exactly what
// wire.Encode made. A body that is not compact JSON, or holds a byte below
// 0x20 (neither is ever made by encoding/json), is stored as it is, in
// record format 1.
const (
	packShort   = 0x1B // one-byte tokens: 0x01..packShort
	packLong    = 0x1C // prefix of a two-byte token
	packTime    = 0x1D // prefix of a timestamp
	packMaxDict = packShort + 256
)

// packDict is part of the file format: records on disk refer to its
// entries by position. Only ever append to it; never reorder, change or
// remove an entry (a record written today must read back the same in every
// later version). Entries are whole JSON strings, quotes included, and keys
// end with their colon.
var packDict = []string{
	// one byte: the keys and values of nearly every event and sample
	`"device":`, `"kind":`, `"state":`, `"previous":`, `"faults":`, `"code":`, `"severity":`,
	`"remedy":`, `"since":`, `"reason":`, `"samples":`, `"name":`, `"value":`, `"time":`,
	`"ok"`, `"fault"`, `"degraded"`, `"unreachable"`, `"unknown"`,
	`"error"`, `"warning"`, `"critical"`, `"store"`, `"remote"`, `"dispatch"`, `"host"`, `"detail":`,
	// two bytes from here on
	`"info"`, `"identity":`, `"vendor":`, `"model":`, `"serial":`, `"firmware":`, `"extra":`,
	`"measurements":`, `"heartbeat":`, `"uptime_s":`, `"outbox_depth":`, `"outbox_bytes":`,
	`"oldest_age_s":`, `"dropped":`, `"reconnects":`, `"outbox_incidents":`, `"rss_bytes":`,
	`"goroutines":`, `"telemetry":`, `"event":`, `"rtt_ms"`, `"rtt_ms":`,
	// device kinds
	`"receipt_printer"`, `"label_printer"`, `"network_printer"`, `"scale"`, `"scanner"`,
	`"payment_terminal"`, `"pos_pc"`, `"network_device"`, `"cash_drawer"`, `"usb_device"`, `"other"`,
	// fault codes ("unreachable" is above, as a state)
	`"no_response"`, `"offline"`, `"paper_low"`, `"paper_out"`, `"paper_jam"`,
	`"cover_open"`, `"cutter_error"`, `"head_overheat"`, `"head_fault"`, `"ribbon_low"`, `"ribbon_out"`,
	`"consumable_low"`, `"consumable_out"`, `"maintenance_due"`, `"paused"`, `"buffer_full"`,
	`"config_lost"`, `"mechanical_error"`, `"unrecoverable_error"`, `"drawer_open"`, `"scale_overload"`,
	`"scale_under_zero"`, `"scale_unstable"`, `"scale_zero_error"`, `"scale_calibration_error"`,
	`"device_missing"`, `"wrong_mode"`, `"unknown_device"`, `"pt_not_ready"`, `"pt_busy"`,
	`"pt_host_unreachable"`, `"pt_reconciliation_required"`, `"pt_activation_required"`,
	`"pt_hardware_fault"`, `"disk_low"`, `"memory_low"`, `"process_down"`,
	// appended later
	`"motor_overheat"`, `"head_cold"`,
	// a device the POS application holds
	`"busy"`, `"busy_too_long"`, `"holder":`, `"process":`, `"pid":`,
	// print queues
	`"queue_stopped"`, `"jobs_stuck"`,
}

// packIndex finds a string's token: a small hash table on the string's
// length and three of its bytes (a Go map costs twice as much here, and
// packing runs for every record). The first entry wins when one repeats.
var packIndex = func() *[packBuckets][]uint16 {
	if len(packDict) > packMaxDict {
		panic("uplink: packDict has more entries than two-byte tokens can name")
	}
	var t [packBuckets][]uint16
	seen := map[string]bool{}
	for i, s := range packDict {
		if !seen[s] {
			seen[s] = true
			h := packHash([]byte(s))
			t[h] = append(t[h], uint16(i))
		}
	}
	return &t
}()

const packBuckets = 1024

// packHash hashes a quoted string (at least two bytes).
func packHash(s []byte) int {
	n := len(s)
	return (n*131 + int(s[1])*31 + int(s[n/2])*7 + int(s[n-2])) % packBuckets
}

func packLookup(s []byte) (int, bool) {
	for _, i := range packIndex[packHash(s)] {
		if packDict[i] == string(s) {
			return int(i), true
		}
	}
	return 0, false
}

var errPacked = errors.New("packed body")

// appendPacked packs body (compact JSON) onto dst. base is the record's
// time in unix nanoseconds. ok is false, and dst unusable, if body holds a
// byte below 0x20 and so cannot be packed.
func appendPacked(dst, body []byte, base int64) (_ []byte, ok bool) {
	i := 0
	for i < len(body) {
		// Copy up to the next string.
		j := i
		for ; j < len(body) && body[j] != '"'; j++ {
			if body[j] < 0x20 {
				return nil, false
			}
		}
		dst = append(dst, body[i:j]...)
		if j == len(body) {
			break
		}
		end := stringEnd(body, j)
		if end < 0 {
			return nil, false // not JSON
		}
		str := body[j:end]
		if end < len(body) && body[end] == ':' {
			if n, ok := packLookup(body[j : end+1]); ok {
				dst = appendToken(dst, n)
				i = end + 1
				continue
			}
		}
		if n, ok := packLookup(str); ok {
			dst = appendToken(dst, n)
		} else if d, ok := timeDelta(str, base); ok {
			dst = append(dst, packTime)
			dst = binary.AppendVarint(dst, d)
		} else {
			dst = append(dst, str...)
		}
		i = end
	}
	return dst, true
}

func appendToken(dst []byte, n int) []byte {
	if n < packShort {
		return append(dst, byte(n+1))
	}
	return append(dst, packLong, byte(n-packShort))
}

// stringEnd returns the index just past the closing quote of the JSON string
// that opens at b[start], or -1 if it does not end or holds a byte below
// 0x20.
func stringEnd(b []byte, start int) int {
	for k := start + 1; k < len(b); k++ {
		switch c := b[k]; {
		case c == '\\':
			k++ // skip the escaped byte
			if k < len(b) && b[k] < 0x20 {
				return -1
			}
		case c == '"':
			return k + 1
		case c < 0x20:
			return -1
		}
	}
	return -1
}

// timeDelta recognises a quoted timestamp that unpacking can write back
// byte for byte, and returns it relative to base.
func timeDelta(quoted []byte, base int64) (int64, bool) {
	s := quoted[1 : len(quoted)-1]
	if len(s) < len("2006-01-02T15:04:05Z") || len(s) > len(time.RFC3339Nano) || s[4] != '-' || s[10] != 'T' || s[len(s)-1] != 'Z' {
		return 0, false
	}
	t, err := time.Parse(time.RFC3339Nano, string(s))
	if err != nil || t.Year() < 1700 || t.Year() > 2200 {
		return 0, false
	}
	d, ok := addNoOverflow(t.UnixNano(), -base)
	if !ok || base == math.MinInt64 {
		return 0, false
	}
	var buf [len(time.RFC3339Nano)]byte
	if string(t.UTC().AppendFormat(buf[:0], time.RFC3339Nano)) != string(s) {
		return 0, false
	}
	return d, true
}

// appendUnpacked writes the JSON of a packed body onto dst.
func appendUnpacked(dst, packed []byte, base int64) ([]byte, error) {
	for i := 0; i < len(packed); {
		c := packed[i]
		if c >= 0x20 {
			j := i + 1
			for j < len(packed) && packed[j] >= 0x20 {
				j++
			}
			dst = append(dst, packed[i:j]...)
			i = j
			continue
		}
		switch {
		case c >= 1 && c <= packShort:
			dst = append(dst, packDict[c-1]...)
			i++
		case c == packLong:
			if i+1 >= len(packed) || packShort+int(packed[i+1]) >= len(packDict) {
				return nil, errPacked
			}
			dst = append(dst, packDict[packShort+int(packed[i+1])]...)
			i += 2
		case c == packTime:
			d, n := binary.Varint(packed[i+1:])
			if n <= 0 {
				return nil, errPacked
			}
			t, ok := addNoOverflow(base, d)
			if !ok {
				return nil, errPacked
			}
			dst = append(dst, '"')
			dst = time.Unix(0, t).UTC().AppendFormat(dst, time.RFC3339Nano)
			dst = append(dst, '"')
			i += 1 + n
		default:
			return nil, errPacked
		}
	}
	return dst, nil
}

// addNoOverflow returns a+b, and false if that overflows.
func addNoOverflow(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
