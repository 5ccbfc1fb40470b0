package snmpprinter

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/wire"
)

// OIDs read (reference section 7.1). "i" is the hrDeviceIndex.
const (
	oidSysDescr           = ".1.3.6.1.2.1.1.1.0"
	oidHrDeviceType       = ".1.3.6.1.2.1.25.3.2.1.2"  // .i
	oidHrDeviceDescr      = ".1.3.6.1.2.1.25.3.2.1.3"  // .i
	oidHrDeviceStatus     = ".1.3.6.1.2.1.25.3.2.1.5"  // .i
	oidHrPrinterStatus    = ".1.3.6.1.2.1.25.3.5.1.1"  // .i
	oidHrPrinterError     = ".1.3.6.1.2.1.25.3.5.1.2"  // .i
	oidPrtSerialNumber    = ".1.3.6.1.2.1.43.5.1.1.17" // .i
	oidPrtCoverStatus     = ".1.3.6.1.2.1.43.6.1.1.3"  // .i.j
	oidPrtMarkerSupplies  = ".1.3.6.1.2.1.43.11.1.1"   // .column.i.j
	valueHrDevicePrinter  = ".1.3.6.1.2.1.25.3.1.5"
	supplyColClass        = 4
	supplyColType         = 5
	supplyColDescription  = 6
	supplyColUnit         = 7
	supplyColMaxCapacity  = 8
	supplyColLevel        = 9
	supplyClassReceptacle = 4 // receptacleThatIsFilled: waste toner, waste ink
)

// hrDeviceStatus values.
var deviceStatusNames = map[int]string{1: "unknown", 2: "running", 3: "warning", 4: "testing", 5: "down"}

// hrPrinterStatus values.
var printerStatusNames = map[int]string{1: "other", 2: "unknown", 3: "idle", 4: "printing", 5: "warmup"}

// ErrorState is hrPrinterDetectedErrorState: bit 0 is the MOST significant
// bit of the first octet (RFC 2790), so bit k is octet k/8, mask 0x80>>(k%8).
type ErrorState []byte

// Bit reports whether bit k is set.
func (e ErrorState) Bit(k int) bool {
	if k < 0 || k/8 >= len(e) {
		return false
	}
	return e[k/8]&(0x80>>(k%8)) != 0
}

type errorBit struct {
	code wire.FaultCode
	what string
}

// The bit map (reference 7.2) and where each bit lands in the vocabulary.
// Bits with no fitting code (outputNearFull) are reported in the detail only.
var errorBits = []errorBit{
	0:  {wire.FaultPaperLow, "lowPaper"},
	1:  {wire.FaultPaperOut, "noPaper"},
	2:  {wire.FaultConsumableLow, "lowToner"},
	3:  {wire.FaultConsumableOut, "noToner"},
	4:  {wire.FaultCoverOpen, "doorOpen"},
	5:  {wire.FaultPaperJam, "jammed"},
	6:  {wire.FaultOffline, "offline"},
	7:  {wire.FaultMaintenanceDue, "serviceRequested"},
	8:  {wire.FaultPaperOut, "inputTrayMissing"},
	9:  {wire.FaultOffline, "outputTrayMissing"},
	10: {wire.FaultConsumableOut, "markerSupplyMissing"},
	11: {"", "outputNearFull"},
	12: {wire.FaultOffline, "outputFull"},
	13: {wire.FaultPaperOut, "inputTrayEmpty"},
	14: {wire.FaultMaintenanceDue, "overduePreventMaint"},
}

// Names lists the set bits by their MIB names.
func (e ErrorState) Names() []string {
	var out []string
	for k := 0; k < 8*len(e); k++ {
		if !e.Bit(k) {
			continue
		}
		if k < len(errorBits) {
			out = append(out, errorBits[k].what)
		} else {
			out = append(out, "bit"+strconv.Itoa(k))
		}
	}
	return out
}

// Faults maps the set bits onto the vocabulary, one fault per code.
func (e ErrorState) Faults() []wire.Fault {
	var out []wire.Fault
	idx := map[wire.FaultCode]int{}
	for k, b := range errorBits {
		if b.code == "" || !e.Bit(k) {
			continue
		}
		detail := fmt.Sprintf("hrPrinterDetectedErrorState %s (bit %d)", b.what, k)
		if i, ok := idx[b.code]; ok {
			out[i].Detail += "; " + detail
			continue
		}
		idx[b.code] = len(out)
		out = append(out, wire.NewFault(b.code, detail))
	}
	return out
}

func (e ErrorState) String() string { return fmt.Sprintf("% X", []byte(e)) }

// Supply is one row of prtMarkerSuppliesTable.
type Supply struct {
	Index       string // "i.j"
	Class       int
	Type        int
	Unit        int
	Description string
	Max         int // prtMarkerSuppliesMaxCapacity; -1 other, -2 unknown
	Level       int // prtMarkerSuppliesLevel; -1 other (no restriction), -2 unknown, -3 some remaining
}

// Special values of level and capacity (RFC 3805; [I] in the reference).
const (
	levelOther         = -1
	levelUnknown       = -2
	levelSomeRemaining = -3
)

// Remaining returns the percentage left, from the consumer's point of view:
// for a receptacle (waste toner) it is the room left. ok is false when the
// printer does not say (special values, no capacity).
func (s Supply) Remaining() (pct float64, ok bool) {
	if s.Level < 0 {
		return 0, false
	}
	if s.Max <= 0 {
		// No capacity to compare with; an empty level is still empty.
		if s.Level == 0 && s.Class != supplyClassReceptacle {
			return 0, true
		}
		return 0, false
	}
	pct = 100 * float64(min(s.Level, s.Max)) / float64(s.Max)
	if s.Class == supplyClassReceptacle {
		pct = 100 - pct
	}
	return pct, true
}

// ribbon supply types: inkRibbon(7), ribbonWax(13). They map to
// ribbon_low/ribbon_out rather than consumable_*.
func (s Supply) isRibbon() bool { return s.Type == 7 || s.Type == 13 }

// Name is how the supply is called in details and measurement keys.
func (s Supply) Name() string {
	if d := strings.TrimSpace(s.Description); d != "" {
		return d
	}
	return "supply " + s.Index
}

// SupplyFaults reports supplies at or below lowPct as low and at 0 (or
// below 1 %) as out.
func SupplyFaults(supplies []Supply, lowPct float64) []wire.Fault {
	var out []wire.Fault
	for _, s := range supplies {
		pct, ok := s.Remaining()
		if !ok {
			continue
		}
		low, empty := wire.FaultConsumableLow, wire.FaultConsumableOut
		if s.isRibbon() {
			low, empty = wire.FaultRibbonLow, wire.FaultRibbonOut
		}
		detail := fmt.Sprintf("%s at %.0f%% (level %d of %d)", s.Name(), pct, s.Level, s.Max)
		switch {
		case pct < 1:
			out = append(out, wire.NewFault(empty, detail))
		case pct <= lowPct:
			out = append(out, wire.NewFault(low, detail))
		}
	}
	return out
}

// compareOID orders dotted OIDs arc by arc, numerically.
func compareOID(a, b string) int {
	as, bs := strings.Split(strings.Trim(a, "."), "."), strings.Split(strings.Trim(b, "."), ".")
	for i := 0; i < len(as) && i < len(bs); i++ {
		x, _ := strconv.ParseUint(as[i], 10, 64)
		y, _ := strconv.ParseUint(bs[i], 10, 64)
		if x != y {
			if x < y {
				return -1
			}
			return 1
		}
	}
	return len(as) - len(bs)
}

// sortSupplies orders supplies by index, so readings compare equal.
func sortSupplies(s []Supply) {
	sort.Slice(s, func(i, j int) bool { return compareOID(s[i].Index, s[j].Index) < 0 })
}
