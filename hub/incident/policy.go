package incident

import (
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Recovery says what happens to an incident when its fault has cleared for
// the hold-up time.
type Recovery string

// Recovery policies.
const (
	// RecoveryClose resolves the incident as "recovered by itself".
	RecoveryClose Recovery = "close"
	// RecoveryComment only comments "recovered at ..." and leaves the
	// incident open for a person (a technician should look at hardware that
	// failed, even if it works again).
	RecoveryComment Recovery = "comment"
)

// Rule is the policy for one fault code (optionally on one device kind).
type Rule struct {
	// Never: the fault never opens an incident by itself (it still counts
	// and shows on the device).
	Never bool
	// HoldDown is how long the fault must last before an incident opens.
	HoldDown time.Duration
	// HoldUp is how long the fault must stay cleared before the incident is
	// resolved or commented.
	HoldUp time.Duration
	// OnRecovery is what recovery does to the incident.
	OnRecovery Recovery
	// Chronic: repeated episodes of this fault open a chronic-problem
	// incident. Consumables (paper out) recur by nature and are excluded.
	Chronic bool
}

// Policy is the engine's configuration of rules and timings.
type Policy struct {
	// Display says durations and instants in store time where the clock
	// runs compressed (the demo); zero: as they are.
	Display TimeScale
	// Rules overrides the defaults: keys are a fault code ("paper_out") or a
	// device kind and a code ("scale/unreachable"), the latter winning.
	Rules map[string]Rule
	// Grace is the power-on grace after a store opens or a maintenance
	// window ends: devices come up one by one, so nothing opens.
	Grace time.Duration
	// ReplaySettle delays opening for events that arrive late (replayed from
	// an agent's outbox after an outage, or from a broker's backlog after a
	// takeover), so the recovery that followed them in the backlog can
	// arrive first. A rule's hold-down caps it (see replayFor).
	ReplaySettle time.Duration
	// LateAfter is how much later than the agent confirmed it an event must
	// arrive to count as replayed; half a rule's hold-down caps it.
	LateAfter time.Duration
	// FlapWindow, FlapThreshold: this many state changes of one fault within
	// the window make it flapping. FlapQuiet is the calm needed to leave.
	FlapWindow    time.Duration
	FlapThreshold int
	FlapQuiet     time.Duration
	// ChronicCount episodes within ChronicWindow, each lasting at least
	// ChronicMin, open a chronic-problem incident.
	ChronicCount  int
	ChronicWindow time.Duration
	ChronicMin    time.Duration
	// OutageSettle is how long the hub listens, once it hears its stores
	// again after its own outage (its broker connection was down, or most
	// agents went silent at once), before it decides about stores' agents
	// again. Longer than the agents' reconnect cap and heartbeat.
	OutageSettle time.Duration
	// OutageShare of the agents, and at least OutageMin of them, going
	// offline within OutageWindow (wills of trading stores) is a mass
	// silence: the hub's outage, not theirs.
	OutageShare  float64
	OutageMin    int
	OutageWindow time.Duration
}

// DefaultPolicy returns the built-in timings; see docs/hub.md for the table.
func DefaultPolicy() Policy {
	return Policy{
		Grace:         10 * time.Minute,
		ReplaySettle:  time.Minute,
		LateAfter:     time.Minute,
		FlapWindow:    30 * time.Minute,
		FlapThreshold: 6,
		FlapQuiet:     15 * time.Minute,
		ChronicCount:  5,
		ChronicWindow: 7 * 24 * time.Hour,
		ChronicMin:    time.Minute,
		OutageSettle:  2 * time.Minute,
		OutageShare:   0.5,
		OutageMin:     10,
		OutageWindow:  2 * time.Minute,
	}
}

// replay says when an episode counts as replayed and how long it then
// waits for the rest of its backlog.
type replay struct {
	lateAfter time.Duration // a longer transit makes an episode replayed
	settle    time.Duration // a replayed episode opens no earlier than this after the hub saw it
}

// replayFor scales the replay timings to a rule's hold-down. The hold-down
// is the hub's time to hear a fault clear before it opens a ticket: an
// episode that spent more than half of it in transit (a broker's backlog
// after a takeover, an outbox after an outage) left too little of it for
// the clearing report queued behind, so it waits again from when the hub
// saw it, its hold-down at most (the policy's settle time at most). With
// hold-downs of minutes that is the policy's minute for both; a chain that
// runs hold-downs of seconds gets backlogs of seconds judged as replays
// too. A rule without a hold-down opens at once when live and keeps the
// policy's timings for a replay.
func (p Policy) replayFor(holdDown time.Duration) replay {
	if holdDown <= 0 {
		return replay{p.LateAfter, p.ReplaySettle}
	}
	return replay{min(p.LateAfter, holdDown/2), min(p.ReplaySettle, holdDown)}
}

// consumables recur by nature (a roll of paper runs out), so they never make
// a device chronic.
var consumables = map[wire.FaultCode]bool{
	wire.FaultPaperLow: true, wire.FaultPaperOut: true, wire.FaultRibbonLow: true, wire.FaultRibbonOut: true,
	wire.FaultConsumableLow: true, wire.FaultConsumableOut: true,
}

// connectivity faults come and go with networks and power; they close by
// themselves when the device answers again.
var connectivity = map[wire.FaultCode]bool{
	wire.FaultUnreachable: true, wire.FaultNoResponse: true, wire.FaultOffline: true,
	wire.FaultPTHostUnreachable: true, wire.FaultAgentOffline: true,
}

// DefaultRule is the built-in rule for a fault code.
func DefaultRule(code wire.FaultCode) Rule {
	info, ok := wire.Lookup(code)
	if !ok {
		return Rule{Never: true}
	}
	r := Rule{HoldUp: 2 * time.Minute, OnRecovery: RecoveryClose, Chronic: !consumables[code]}
	switch {
	case info.Severity <= wire.SeverityInfo:
		r.Never, r.Chronic = true, false
	case code == wire.FaultPaperLow || code == wire.FaultRibbonLow || code == wire.FaultConsumableLow:
		// "nearly used up" is for the store's staff, not a ticket.
		r.Never = true
	case code == wire.FaultPaperOut || code == wire.FaultRibbonOut || code == wire.FaultConsumableOut:
		r.HoldDown = 2 * time.Minute
	case code == wire.FaultAgentOffline:
		r.HoldDown, r.HoldUp = 3*time.Minute, time.Minute
	case connectivity[code]:
		r.HoldDown = 3 * time.Minute
	case info.Remedy == wire.RemedyDispatch && info.Severity >= wire.SeverityError:
		// Hardware faults (pt_hardware_fault, head_fault) do not go away by
		// waiting: open at once, and let the technician close.
		r.HoldDown, r.OnRecovery = 0, RecoveryComment
	case info.Severity == wire.SeverityWarning:
		r.HoldDown = 30 * time.Minute
	default:
		r.HoldDown = 5 * time.Minute
	}
	if info.Remedy == wire.RemedyDispatch {
		r.OnRecovery = RecoveryComment
	}
	return r
}

// For returns the rule for a fault on a device kind.
func (p Policy) For(kind string, code wire.FaultCode) Rule {
	if r, ok := p.Rules[kind+"/"+string(code)]; ok && kind != "" {
		return r
	}
	if r, ok := p.Rules[string(code)]; ok {
		return r
	}
	return DefaultRule(code)
}
