package toledo

import (
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/drivers/internal/scale"
)

// Status record bits (SS; bit 0 = LSB). Bits 5 and 6 are always 1, bit 7
// is parity.
const (
	ssMotion     = 0x01
	ssOver       = 0x02 // over capacity / out of range
	ssUnderZero  = 0x04
	ssZeroRange  = 0x08 // outside zero capture range (initial zero)
	ssCentreZero = 0x10
	ssFixed      = 0x60
)

// Record is one 8213 answer: STX <weight> CR, or the status record
// STX ? <SS> CR.
type Record struct {
	Weight   string // digits with an optional point: "001.25", grams "001250"
	Status   byte   // SS, when IsStatus
	IsStatus bool
}

// ParseRecord reads a record (bit 7 already cleared) from STX to CR.
func ParseRecord(b []byte) (Record, error) {
	s := string(b)
	if len(s) < 3 || s[0] != 0x02 || s[len(s)-1] != '\r' {
		return Record{}, drivers.ProtocolError("not a Toledo 8213 record (STX … CR): %q", b)
	}
	body := s[1 : len(s)-1]
	if strings.HasPrefix(body, "?") {
		if len(body) != 2 {
			return Record{}, drivers.ProtocolError("status record %q: want one status byte after ?", b)
		}
		ss := body[1]
		if ss&ssFixed != ssFixed || ss&0x80 != 0 {
			return Record{}, drivers.ProtocolError("status byte 0x%02X: bits 5 and 6 must be 1", ss)
		}
		return Record{Status: ss, IsStatus: true}, nil
	}
	w := strings.TrimLeft(body, " ")
	if !weightDigits(w) {
		return Record{}, drivers.ProtocolError("weight record %q: want digits with at most one point", b)
	}
	return Record{Weight: w}, nil
}

// weightDigits accepts XXX.XX, XXXX.XX (H) and 0XXXXX (grams): digits and at
// most one point, no sign (a negative weight comes as a status record).
func weightDigits(s string) bool { return len(s) <= 8 && scale.IsDecimal(s, false) }

// Status turns a record into a scale status. The records carry no unit:
// unit is the one the scale is set to (the driver's unit option).
func Status(r Record, unit string) (scale.Status, error) {
	if !r.IsStatus {
		v, err := strconv.ParseFloat(r.Weight, 64)
		if err != nil {
			return scale.Status{}, drivers.ProtocolError("weight record %q: %v", r.Weight, err)
		}
		// A weight record is only sent for a valid weight: stable, not
		// negative, in range.
		return scale.Status{Weight: v, Unit: unit, HasWeight: true, Raw: "weight " + r.Weight}, nil
	}
	ss := r.Status
	return scale.Status{
		Moving:    ss&ssMotion != 0,
		Overload:  ss&ssOver != 0,
		UnderZero: ss&ssUnderZero != 0,
		ZeroError: ss&ssZeroRange != 0,
		AtZero:    ss&ssCentreZero != 0,
		Raw:       "status record ?" + string(ss) + " (0x" + strconv.FormatUint(uint64(ss), 16) + ")",
	}, nil
}

// LastRecord reads the last whole record (STX … CR) in what the scale sent
// the POS application, answers to its W. Bit 7 (parity on a 7-bit line) is
// cleared; records that do not parse are skipped.
func LastRecord(b []byte, unit string) (scale.Status, bool) {
	for end := len(b) - 1; end > 0; end-- {
		if b[end]&0x7F != '\r' {
			continue
		}
		start := end - 1
		for start >= 0 && b[start]&0x7F != 0x02 && b[start]&0x7F != '\r' {
			start--
		}
		if start < 0 || b[start]&0x7F != 0x02 {
			continue
		}
		rec := make([]byte, end-start+1)
		for i := range rec {
			rec[i] = b[start+i] & 0x7F
		}
		r, err := ParseRecord(rec)
		if err != nil {
			continue
		}
		if st, err := Status(r, unit); err == nil {
			return st, true
		}
	}
	return scale.Status{}, false
}
