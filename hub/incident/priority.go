package incident

import "github.com/storewatch/storewatch/wire"

// kindCriticality is assumed for a device whose inventory says nothing.
var kindCriticality = map[string]wire.Criticality{
	"payment_terminal": wire.CriticalityCritical,
	"pos_pc":           wire.CriticalityHigh,
	"receipt_printer":  wire.CriticalityHigh,
	"scale":            wire.CriticalityHigh,
	"scanner":          wire.CriticalityHigh,
}

func criticalityOf(kind string, c wire.Criticality) wire.Criticality {
	if c.Valid() {
		return c
	}
	if k, ok := kindCriticality[kind]; ok {
		return k
	}
	return wire.CriticalityNormal
}

var criticalityWeight = map[wire.Criticality]float64{
	wire.CriticalityLow: 0.5, wire.CriticalityNormal: 1, wire.CriticalityHigh: 1.5, wire.CriticalityCritical: 2,
}

// Impact grades how much of the store's trading a fault takes away: the
// share of the store's devices of the same kind that are down, weighted by
// how critical the device is. 1 is high (every payment terminal, the whole
// store), 3 is low (one lane of ten).
func Impact(affected, total int, crit wire.Criticality) int {
	if total < 1 {
		total = 1
	}
	if affected < 1 {
		affected = 1
	}
	share := float64(affected) / float64(total)
	if share > 1 {
		share = 1
	}
	score := share * criticalityWeight[crit]
	switch {
	case share >= 1 && criticalityWeight[crit] >= criticalityWeight[wire.CriticalityHigh] && total > 1:
		return 1 // every one of a trading-critical kind is down
	case total == 1 && crit != wire.CriticalityCritical:
		// The only monitored device of its kind: the store may well have
		// others the agent does not watch, so one down is not "all down"
		// unless the kind is critical (the store's one payment terminal).
		if score >= 0.6 {
			return 2
		}
		return 3
	case score >= 1.5:
		return 1
	case score >= 0.6:
		return 2
	}
	return 3
}

// Urgency grades how fast the damage grows: critical faults are urgent,
// errors less so, warnings least; a store that is closed lowers urgency.
func Urgency(sev wire.Severity, storeOpen bool) int {
	u := 3
	switch {
	case sev >= wire.SeverityCritical:
		u = 1
	case sev >= wire.SeverityError:
		u = 2
	}
	if !storeOpen && u < 3 {
		u++
	}
	return u
}

// Priority is the ITIL impact x urgency matrix (the common 3x3 lookup):
// 1/1 -> P1; 1/2, 2/1 -> P2; 1/3, 2/2, 3/1 -> P3; 2/3, 3/2 -> P4; 3/3 -> P5.
func Priority(impact, urgency int) int {
	p := impact + urgency - 1
	return max(1, min(5, p))
}
