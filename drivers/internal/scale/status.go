package scale

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/storewatch/storewatch/drivers"
	"github.com/storewatch/storewatch/wire"
)

// Status is one answer from a scale in protocol-neutral terms. Each driver's
// README maps its protocol's status letters and bits onto these fields; Read
// maps the fields onto the shared fault vocabulary, so the three drivers
// cannot drift apart in what "overload" or "unstable" means.
type Status struct {
	Weight    float64 // in Unit; valid when HasWeight
	Unit      string  // as the scale sent it: kg, g, lb, oz, ...
	HasWeight bool

	Moving    bool // dynamic, in motion, or not settled; a fault only when it persists
	AtZero    bool // at centre of zero (information)
	Overload  bool // above capacity
	UnderZero bool // below zero / under capacity
	ZeroError bool // zero outside the zero-setting range (initial zero error)
	// Calibration lists the reasons for a calibration or memory fault
	// ("RAM error", "faulty calibration"); empty when there is none.
	Calibration []string

	// Raw is the answer in the protocol's own words ("S D 129.07 g",
	// "status 31 30"), for engineers reading the detail.
	Raw string
}

// Measurement names the scale drivers report.
const (
	MeasureWeightKg     = "weight_kg"     // the weight shown, converted to kilograms
	MeasureWeightStable = "weight_stable" // 1 stable, 0 moving
	MeasureMotionProbes = "motion_probes" // consecutive probes that saw the weight moving
)

// Read turns a Status into a Reading, recording the motion run in m.
func (m *Motion) Read(s Status) drivers.Reading {
	run := m.Observe(s.Moving)
	return reading(s, run, func() string {
		return fmt.Sprintf("moving for %d probe(s) over %s (a fault after %s)", run.Probes, run.For, m.Threshold())
	})
}

// Snapshot turns a Status into a Reading outside the probe sequence (the
// answer to a zero command): motion is described, never a fault, and the
// motion run is left alone.
func Snapshot(s Status) drivers.Reading {
	return reading(s, Run{}, func() string { return "moving" })
}

func reading(s Status, run Run, moving func() string) drivers.Reading {
	r := drivers.Reading{Measurements: map[string]float64{MeasureMotionProbes: float64(run.Probes)}}
	var words []string
	if s.HasWeight {
		words = append(words, formatWeight(s.Weight, s.Unit))
		if kg, ok := ToKg(s.Weight, s.Unit); ok {
			r.Measurements[MeasureWeightKg] = kg
		}
		if !s.Moving {
			r.Measurements[MeasureWeightStable] = 1
			words = append(words, "stable")
		}
	}
	if s.Moving {
		r.Measurements[MeasureWeightStable] = 0
		words = append(words, moving())
	}
	if s.AtZero {
		words = append(words, "at zero")
	}
	add := func(code wire.FaultCode, detail string) {
		r.Faults = append(r.Faults, wire.NewFault(code, detail+" ["+s.Raw+"]"))
		words = append(words, detail)
	}
	if s.Overload {
		add(wire.FaultScaleOverload, "above capacity")
	}
	if s.UnderZero {
		add(wire.FaultScaleUnderZero, "below zero")
	}
	if s.ZeroError {
		add(wire.FaultScaleZeroError, "zero outside the zero-setting range")
	}
	if len(s.Calibration) > 0 {
		add(wire.FaultScaleCalibration, strings.Join(s.Calibration, ", "))
	}
	if run.Persistent {
		add(wire.FaultScaleUnstable, fmt.Sprintf("weight has not settled for %d probes over %s", run.Probes, run.For))
	}
	wire.SortFaults(r.Faults)
	r.Detail = strings.Join(words, ", ") + " [" + s.Raw + "]"
	return r
}

func formatWeight(v float64, unit string) string {
	return strings.TrimSpace(strconv.FormatFloat(v, 'f', -1, 64) + " " + unit)
}

// kilograms per unit, by lower-case unit name.
var perUnit = map[string]float64{
	"kg": 1,
	"g":  1e-3,
	"mg": 1e-6,
	"t":  1e3,
	"lb": 0.45359237,
	"oz": 0.028349523125,
	"ct": 2e-4,
}

// ToKg converts a weight to kilograms. Units are matched without regard to
// case (NCI's SCP-02 variant sends "KG"); ok is false for units that are not
// a mass (pieces, percent) or that this table does not know.
func ToKg(v float64, unit string) (kg float64, ok bool) {
	f, ok := perUnit[strings.ToLower(strings.TrimSpace(unit))]
	return v * f, ok
}

// KnownUnit reports whether ToKg converts unit.
func KnownUnit(unit string) bool {
	_, ok := ToKg(0, unit)
	return ok
}

// IsDecimal reports whether s is a number as a scale display shows it:
// digits with at most one decimal point, and a leading sign if signed. It
// refuses what strconv.ParseFloat would also take (exponents, Inf, NaN,
// hex), which no scale sends.
func IsDecimal(s string, signed bool) bool {
	if signed && s != "" && (s[0] == '-' || s[0] == '+') {
		s = s[1:]
	}
	digits, dots := 0, 0
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '.':
			dots++
		default:
			return false
		}
	}
	return digits > 0 && dots <= 1
}
