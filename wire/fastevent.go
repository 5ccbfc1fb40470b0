package wire

import (
	"hash/maphash"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"
)

// Events are most of what a hub decodes, and the generic strict decoder
// (reflection, a token per value) was a tenth of the hub's CPU per event.
// decodeEventFast parses the shape agents write (wire.Encode's output: an
// object of Event's members, each at most once, strings without escapes,
// times in UTC) by hand, into a zero Event. It is a fast path, never a
// second definition of the contract: on anything else — an unknown or
// repeated member, an escape, a null, an empty array or object, a number
// or a time of another form, trailing data — it reports !ok and the caller
// decodes the payload with the strict decoder, which then accepts or
// refuses it as before. What it accepts, the strict decoder accepts with
// the same result (FuzzEventFastPath).
func decodeEventFast(data []byte, m *Event) bool {
	c := stringCaches.Get().(*stringCache)
	defer stringCaches.Put(c)
	s := scanner{d: data, strings: c}
	if !s.obj(func(name []byte) bool { return s.eventMember(name, m) }) {
		return false
	}
	s.ws()
	return s.i == len(s.d)
}

// scanner reads JSON from d at i; each method skips the whitespace before
// what it reads.
type scanner struct {
	d       []byte
	i       int
	seen    uint32 // the members of the object being read, by bit
	strings *stringCache
}

// stringCache holds strings decoded before, so that the values that
// repeat from one event to the next (type, tenant, state, kind, fault
// codes, vendors, models) are not allocated again, as the strict decoder's
// own cache does. A cache serves one decode at a time (stringCaches).
type stringCache [256]string

var (
	stringCaches = sync.Pool{New: func() any { return new(stringCache) }}
	stringSeed   = maphash.MakeSeed()
)

func (c *stringCache) get(b []byte) string {
	if len(b) < 2 || len(b) > 64 {
		return string(b)
	}
	i := maphash.Bytes(stringSeed, b) % uint64(len(c))
	if s := c[i]; s == string(b) {
		return s
	}
	s := string(b)
	c[i] = s
	return s
}

func (s *scanner) ws() {
	for s.i < len(s.d) {
		switch s.d[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) next(c byte) bool {
	s.ws()
	if s.i < len(s.d) && s.d[s.i] == c {
		s.i++
		return true
	}
	return false
}

// once marks member bit of the current object as read; false if it was.
func (s *scanner) once(bit uint) bool {
	if s.seen&(1<<bit) != 0 {
		return false
	}
	s.seen |= 1 << bit
	return true
}

// obj reads a non-empty object, calling member for each name with the
// scanner at its value.
func (s *scanner) obj(member func(name []byte) bool) bool {
	if !s.next('{') {
		return false
	}
	outer := s.seen
	s.seen = 0
	defer func() { s.seen = outer }()
	for {
		name, ok := s.raw()
		if !ok || !s.next(':') || !member(name) {
			return false
		}
		if s.next('}') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

// raw reads a string without escapes or control characters, in valid
// UTF-8, and returns its bytes (in d).
func (s *scanner) raw() ([]byte, bool) {
	if !s.next('"') {
		return nil, false
	}
	start, ascii := s.i, true
	for s.i < len(s.d) {
		c := s.d[s.i]
		switch {
		case c == '"':
			b := s.d[start:s.i]
			s.i++
			return b, ascii || utf8.Valid(b)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= utf8.RuneSelf:
			ascii = false
		}
		s.i++
	}
	return nil, false
}

func (s *scanner) str(dst *string) bool {
	b, ok := s.raw()
	*dst = s.strings.get(b)
	return ok
}

// number reads a JSON number and returns its text; integer says it had no
// fraction or exponent.
func (s *scanner) number() (text []byte, integer, ok bool) {
	s.ws()
	start := s.i
	if s.i < len(s.d) && s.d[s.i] == '-' {
		s.i++
	}
	digits := func() int {
		n := 0
		for s.i < len(s.d) && s.d[s.i] >= '0' && s.d[s.i] <= '9' {
			s.i++
			n++
		}
		return n
	}
	first := s.i
	n := digits()
	if n == 0 || n > 1 && s.d[first] == '0' {
		return nil, false, false
	}
	integer = true
	if s.i < len(s.d) && s.d[s.i] == '.' {
		s.i++
		if digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	if s.i < len(s.d) && (s.d[s.i] == 'e' || s.d[s.i] == 'E') {
		s.i++
		if s.i < len(s.d) && (s.d[s.i] == '+' || s.d[s.i] == '-') {
			s.i++
		}
		if digits() == 0 {
			return nil, false, false
		}
		integer = false
	}
	return s.d[start:s.i], integer, true
}

func (s *scanner) int(dst *int) bool {
	t, integer, ok := s.number()
	if !ok || !integer {
		return false
	}
	n, err := strconv.ParseInt(string(t), 10, strconv.IntSize)
	*dst = int(n)
	return err == nil
}

func (s *scanner) uint64(dst *uint64) bool {
	t, integer, ok := s.number()
	if !ok || !integer || t[0] == '-' {
		return false
	}
	n, err := strconv.ParseUint(string(t), 10, 64)
	*dst = n
	return err == nil
}

func (s *scanner) float(dst *float64) bool {
	t, _, ok := s.number()
	if !ok {
		return false
	}
	f, err := strconv.ParseFloat(string(t), 64)
	*dst = f
	return err == nil
}

// time reads an RFC 3339 time in UTC ("Z"), with the checks the strict
// decoder adds to time.Time's own parsing.
func (s *scanner) time(dst *time.Time) bool {
	b, ok := s.raw()
	if !ok || len(b) < len("2006-01-02T15:04:05Z") || b[len(b)-1] != 'Z' {
		return false
	}
	if b[len("2006-01-02T")+1] == ':' || b[len("2006-01-02T15:04:05")] == ',' {
		return false
	}
	return dst.UnmarshalText(b) == nil
}

func (s *scanner) eventMember(name []byte, m *Event) bool {
	switch string(name) {
	case "v":
		return s.once(0) && s.int(&m.V)
	case "type":
		return s.once(1) && s.str((*string)(&m.Type))
	case "tenant":
		return s.once(2) && s.str(&m.Tenant)
	case "store":
		return s.once(3) && s.str(&m.Store)
	case "agent":
		return s.once(4) && s.str(&m.Agent)
	case "boot":
		return s.once(5) && s.str(&m.Boot)
	case "seq":
		return s.once(6) && s.uint64(&m.Seq)
	case "time":
		return s.once(7) && s.time(&m.Time)
	case "device":
		return s.once(8) && s.str(&m.Device)
	case "kind":
		return s.once(9) && s.str(&m.Kind)
	case "state":
		return s.once(10) && s.str((*string)(&m.State))
	case "previous":
		return s.once(11) && s.str((*string)(&m.Previous))
	case "faults":
		return s.once(12) && s.faults(&m.Faults)
	case "since":
		return s.once(13) && s.time(&m.Since)
	case "reason":
		return s.once(14) && s.str(&m.Reason)
	case "identity":
		if !s.once(15) {
			return false
		}
		m.Identity = &Identity{}
		return s.identity(m.Identity)
	case "measurements":
		return s.once(16) && s.floatMap(&m.Measurements)
	case "holder":
		if !s.once(17) {
			return false
		}
		m.Holder = &Holder{}
		return s.obj(func(name []byte) bool {
			switch string(name) {
			case "process":
				return s.once(0) && s.str(&m.Holder.Process)
			case "pid":
				return s.once(1) && s.int(&m.Holder.PID)
			}
			return false
		})
	}
	return false
}

func (s *scanner) faults(dst *[]Fault) bool {
	if !s.next('[') {
		return false
	}
	for {
		var f Fault
		ok := s.obj(func(name []byte) bool {
			switch string(name) {
			case "code":
				return s.once(0) && s.str((*string)(&f.Code))
			case "severity":
				b, ok := s.raw()
				return ok && s.once(1) && f.Severity.UnmarshalText(b) == nil
			case "remedy":
				return s.once(2) && s.str((*string)(&f.Remedy))
			case "detail":
				return s.once(3) && s.str(&f.Detail)
			}
			return false
		})
		if !ok {
			return false
		}
		*dst = append(*dst, f)
		if s.next(']') {
			return true
		}
		if !s.next(',') {
			return false
		}
	}
}

func (s *scanner) identity(id *Identity) bool {
	return s.obj(func(name []byte) bool {
		switch string(name) {
		case "vendor":
			return s.once(0) && s.str(&id.Vendor)
		case "model":
			return s.once(1) && s.str(&id.Model)
		case "serial":
			return s.once(2) && s.str(&id.Serial)
		case "firmware":
			return s.once(3) && s.str(&id.Firmware)
		case "extra":
			if !s.once(4) {
				return false
			}
			id.Extra = map[string]string{}
			return s.obj(func(key []byte) bool {
				if _, dup := id.Extra[string(key)]; dup {
					return false
				}
				var v string
				ok := s.str(&v)
				id.Extra[string(key)] = v
				return ok
			})
		}
		return false
	})
}

func (s *scanner) floatMap(dst *map[string]float64) bool {
	m := map[string]float64{}
	*dst = m
	return s.obj(func(key []byte) bool {
		if _, dup := m[string(key)]; dup {
			return false
		}
		var f float64
		ok := s.float(&f)
		m[string(key)] = f
		return ok
	})
}
