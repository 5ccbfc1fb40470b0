package wire

import (
	"fmt"
	"slices"
	"sort"
)

// Severity says how bad a fault is. The order matters: a device's health state
// follows its most severe active fault.
type Severity int

// Severities, least to most severe.
const (
	SeverityInfo Severity = iota + 1
	SeverityWarning
	SeverityError
	SeverityCritical
)

var severityNames = map[Severity]string{
	SeverityInfo: "info", SeverityWarning: "warning", SeverityError: "error", SeverityCritical: "critical",
}

func (s Severity) String() string {
	if n, ok := severityNames[s]; ok {
		return n
	}
	return fmt.Sprintf("severity(%d)", int(s))
}

// ParseSeverity turns "info", "warning", "error" or "critical" into a Severity.
func ParseSeverity(s string) (Severity, error) {
	for k, n := range severityNames {
		if n == s {
			return k, nil
		}
	}
	return 0, fmt.Errorf("unknown severity %q (want info, warning, error or critical)", s)
}

// MarshalText encodes the severity by name.
func (s Severity) MarshalText() ([]byte, error) {
	n, ok := severityNames[s]
	if !ok {
		return nil, fmt.Errorf("invalid severity %d", int(s))
	}
	return []byte(n), nil
}

// UnmarshalText decodes a severity name.
func (s *Severity) UnmarshalText(b []byte) error {
	v, err := ParseSeverity(string(b))
	if err != nil {
		return err
	}
	*s = v
	return nil
}

// Remedy says who can fix a fault, so first-line support knows at once whether
// to talk the store through it, fix it remotely, or send someone.
type Remedy string

// Remedy classes.
const (
	RemedyStore    Remedy = "store"    // store staff can fix it (load paper, close the cover)
	RemedyRemote   Remedy = "remote"   // support can fix it remotely
	RemedyDispatch Remedy = "dispatch" // a technician or a replacement part is needed
)

// FaultCode is a vendor-neutral fault name from the shared vocabulary.
type FaultCode string

// The fault vocabulary. Drivers map their protocol's bits onto these codes;
// the hub's runbooks and ticket templates are keyed by them.
const (
	FaultUnreachable        FaultCode = "unreachable"
	FaultNoResponse         FaultCode = "no_response"
	FaultOffline            FaultCode = "offline"
	FaultPaperLow           FaultCode = "paper_low"
	FaultPaperOut           FaultCode = "paper_out"
	FaultPaperJam           FaultCode = "paper_jam"
	FaultCoverOpen          FaultCode = "cover_open"
	FaultCutterError        FaultCode = "cutter_error"
	FaultHeadOverheat       FaultCode = "head_overheat"
	FaultMotorOverheat      FaultCode = "motor_overheat"
	FaultHeadCold           FaultCode = "head_cold"
	FaultHeadFault          FaultCode = "head_fault"
	FaultRibbonLow          FaultCode = "ribbon_low"
	FaultRibbonOut          FaultCode = "ribbon_out"
	FaultConsumableLow      FaultCode = "consumable_low"
	FaultConsumableOut      FaultCode = "consumable_out"
	FaultMaintenanceDue     FaultCode = "maintenance_due"
	FaultPaused             FaultCode = "paused"
	FaultBufferFull         FaultCode = "buffer_full"
	FaultConfigLost         FaultCode = "config_lost"
	FaultMechanicalError    FaultCode = "mechanical_error"
	FaultUnrecoverableError FaultCode = "unrecoverable_error"
	FaultDrawerOpen         FaultCode = "drawer_open"
	FaultScaleOverload      FaultCode = "scale_overload"
	FaultScaleUnderZero     FaultCode = "scale_under_zero"
	FaultScaleUnstable      FaultCode = "scale_unstable"
	FaultScaleZeroError     FaultCode = "scale_zero_error"
	FaultScaleCalibration   FaultCode = "scale_calibration_error"
	FaultDeviceMissing      FaultCode = "device_missing"
	FaultWrongMode          FaultCode = "wrong_mode"
	FaultUnknownDevice      FaultCode = "unknown_device"
	FaultPTNotReady         FaultCode = "pt_not_ready"
	FaultPTBusy             FaultCode = "pt_busy"
	FaultBusyTooLong        FaultCode = "busy_too_long"
	FaultQueueStopped       FaultCode = "queue_stopped"
	FaultJobsStuck          FaultCode = "jobs_stuck"
	FaultPTHostUnreachable  FaultCode = "pt_host_unreachable"
	FaultPTReconciliation   FaultCode = "pt_reconciliation_required"
	FaultPTActivation       FaultCode = "pt_activation_required"
	FaultPTHardware         FaultCode = "pt_hardware_fault"
	FaultDiskLow            FaultCode = "disk_low"
	FaultMemoryLow          FaultCode = "memory_low"
	FaultProcessDown        FaultCode = "process_down"
	FaultAgentOffline       FaultCode = "agent_offline" // raised by the hub, never by an agent
)

// FaultInfo is what the vocabulary says about one code.
type FaultInfo struct {
	Code     FaultCode `json:"code"`
	Severity Severity  `json:"severity"`
	Remedy   Remedy    `json:"remedy"`
	// Meaning is a one-line plain-English explanation. The hub's ticket
	// templates carry translations; this is the fallback and the reference.
	Meaning string `json:"meaning"`
}

var vocabulary = []FaultInfo{
	{FaultUnreachable, SeverityCritical, RemedyRemote, "the device cannot be reached (connection refused or timed out, port gone, cable unplugged)"},
	{FaultNoResponse, SeverityCritical, RemedyRemote, "the connection is up but the device does not answer status queries"},
	{FaultOffline, SeverityError, RemedyStore, "the device reports itself offline"},
	{FaultPaperLow, SeverityWarning, RemedyStore, "the paper roll is nearly used up"},
	{FaultPaperOut, SeverityError, RemedyStore, "the paper or media has run out"},
	{FaultPaperJam, SeverityError, RemedyStore, "paper is jammed in the printer"},
	{FaultCoverOpen, SeverityError, RemedyStore, "the cover, door or print head is open"},
	{FaultCutterError, SeverityError, RemedyStore, "the automatic cutter is blocked or faulty"},
	{FaultHeadOverheat, SeverityError, RemedyStore, "the print head is too hot"},
	{FaultMotorOverheat, SeverityError, RemedyStore, "the printer's drive motor is too hot; it pauses until the motor cools down"},
	{FaultHeadCold, SeverityWarning, RemedyStore, "the print head is below its working temperature (a cold room); print may be faint"},
	{FaultHeadFault, SeverityError, RemedyDispatch, "the print head is faulty or missing"},
	{FaultRibbonLow, SeverityWarning, RemedyStore, "the ribbon is nearly used up"},
	{FaultRibbonOut, SeverityError, RemedyStore, "the ribbon has run out"},
	{FaultConsumableLow, SeverityWarning, RemedyStore, "a consumable (toner, ink, drum) is low"},
	{FaultConsumableOut, SeverityError, RemedyStore, "a consumable (toner, ink, drum) is used up"},
	{FaultMaintenanceDue, SeverityWarning, RemedyDispatch, "the device asks for maintenance (cleaning, calibration, head replacement)"},
	{FaultPaused, SeverityWarning, RemedyStore, "the printer has been paused at its panel"},
	{FaultBufferFull, SeverityWarning, RemedyRemote, "the printer's receive buffer is full"},
	{FaultConfigLost, SeverityError, RemedyRemote, "the device lost its configuration"},
	{FaultMechanicalError, SeverityError, RemedyDispatch, "a mechanical error stopped the device"},
	{FaultUnrecoverableError, SeverityCritical, RemedyDispatch, "the device reports an error it cannot recover from; it needs service"},
	{FaultDrawerOpen, SeverityInfo, RemedyStore, "the cash drawer is open"},
	{FaultScaleOverload, SeverityError, RemedyStore, "the load on the scale is above its capacity"},
	{FaultScaleUnderZero, SeverityWarning, RemedyStore, "the scale reads below zero"},
	{FaultScaleUnstable, SeverityWarning, RemedyStore, "the weight does not settle (something touches the platter, or drafts)"},
	{FaultScaleZeroError, SeverityError, RemedyStore, "the scale cannot set zero (platter not empty at power-on, or out of range)"},
	{FaultScaleCalibration, SeverityError, RemedyDispatch, "the scale reports a calibration or memory fault; it must be re-calibrated"},
	{FaultDeviceMissing, SeverityError, RemedyStore, "an expected USB or serial device is not connected"},
	{FaultWrongMode, SeverityWarning, RemedyStore, "the device is in a different interface mode than configured"},
	{FaultUnknownDevice, SeverityWarning, RemedyRemote, "the device's identity differs from the inventory (swapped or replaced)"},
	{FaultPTNotReady, SeverityError, RemedyRemote, "the payment terminal is not ready for payments"},
	{FaultPTBusy, SeverityInfo, RemedyStore, "the payment terminal is busy with a transaction"},
	{FaultPTHostUnreachable, SeverityError, RemedyRemote, "the payment terminal cannot reach its payment host"},
	{FaultPTReconciliation, SeverityWarning, RemedyRemote, "the payment terminal needs an end-of-day reconciliation"},
	{FaultPTActivation, SeverityError, RemedyRemote, "the payment terminal must be (re)activated or registered"},
	{FaultPTHardware, SeverityError, RemedyDispatch, "the payment terminal reports a hardware fault (card reader, PIN pad, printer, power)"},
	{FaultBusyTooLong, SeverityError, RemedyRemote, "another program has held the device for longer than the agent's limit (a hung POS application may be keeping it)"},
	{FaultQueueStopped, SeverityError, RemedyRemote, "the printer's print queue is stopped (paused) or refuses new jobs, so nothing prints"},
	{FaultJobsStuck, SeverityError, RemedyRemote, "print jobs have waited in the print queue longer than the limit without printing"},
	{FaultDiskLow, SeverityWarning, RemedyRemote, "the store PC is running out of disk space"},
	{FaultMemoryLow, SeverityWarning, RemedyRemote, "the store PC is running out of memory"},
	{FaultProcessDown, SeverityError, RemedyRemote, "a program that must run on the store PC is not running"},
	{FaultAgentOffline, SeverityCritical, RemedyRemote, "the store's monitoring agent is offline (store network, power or PC down)"},
}

var vocabularyIndex = func() map[FaultCode]FaultInfo {
	m := make(map[FaultCode]FaultInfo, len(vocabulary))
	for _, f := range vocabulary {
		if _, dup := m[f.Code]; dup {
			panic("wire: duplicate fault code " + string(f.Code))
		}
		m[f.Code] = f
	}
	return m
}()

// Lookup returns what the vocabulary says about code.
func Lookup(code FaultCode) (FaultInfo, bool) {
	f, ok := vocabularyIndex[code]
	return f, ok
}

// Vocabulary returns every known fault code, sorted by code.
func Vocabulary() []FaultInfo {
	out := slices.Clone(vocabulary)
	sort.Slice(out, func(i, j int) bool { return out[i].Code < out[j].Code })
	return out
}

// Known reports whether code is in the vocabulary.
func (c FaultCode) Known() bool { _, ok := vocabularyIndex[c]; return ok }

// Fault is one active fault on a device, as carried in events.
type Fault struct {
	Code     FaultCode `json:"code"`
	Severity Severity  `json:"severity"`
	Remedy   Remedy    `json:"remedy"`
	// Detail is what the driver saw, for engineers: "DLE EOT 2 = 0x32 (bit 5)".
	Detail string `json:"detail,omitempty"`
}

// NewFault builds a fault with the vocabulary's default severity and remedy.
// An unknown code panics: it is a programming error in a driver, caught by its
// tests.
func NewFault(code FaultCode, detail string) Fault {
	f, ok := vocabularyIndex[code]
	if !ok {
		panic("wire: unknown fault code " + string(code))
	}
	return Fault{Code: code, Severity: f.Severity, Remedy: f.Remedy, Detail: detail}
}

// HealthState is a device's overall condition as decided by the collector.
type HealthState string

// Health states.
const (
	StateUnknown     HealthState = "unknown"     // not yet polled, or in the start-up grace period
	StateOK          HealthState = "ok"          // no active faults
	StateDegraded    HealthState = "degraded"    // warnings only (paper low)
	StateFault       HealthState = "fault"       // an error or critical fault is active
	StateUnreachable HealthState = "unreachable" // no transport or no answer
	// StateBusy: another program (the POS application) has the device or
	// its port, so its faults could not be read now. Not a fault: the
	// device is most likely working for the cashier. Busy events carry no
	// faults, and the hub keeps whatever it knew before.
	StateBusy HealthState = "busy"
	// StateStale is set by the hub, never sent by an agent: the device's agent
	// is offline, so its last known state can no longer be trusted.
	StateStale HealthState = "stale"
)

// Valid reports whether s is a state an agent may send.
func (s HealthState) Valid() bool {
	switch s {
	case StateUnknown, StateOK, StateDegraded, StateFault, StateUnreachable, StateBusy:
		return true
	}
	return false
}

// StateOf derives the health state from a set of active faults: unreachable
// when the device cannot be talked to, fault for any error or critical fault,
// degraded for warnings, ok otherwise. Info faults (drawer open) leave a device
// ok.
func StateOf(faults []Fault) HealthState {
	state := StateOK
	for _, f := range faults {
		switch {
		case f.Code == FaultUnreachable || f.Code == FaultNoResponse:
			return StateUnreachable
		case f.Severity >= SeverityError:
			state = StateFault
		case f.Severity == SeverityWarning && state == StateOK:
			state = StateDegraded
		}
	}
	return state
}

// SortFaults orders faults by code so two readings with the same faults compare
// equal.
func SortFaults(fs []Fault) {
	sort.Slice(fs, func(i, j int) bool { return fs[i].Code < fs[j].Code })
}

// SameCodes reports whether a and b hold the same fault codes, ignoring order
// and detail.
func SameCodes(a, b []Fault) bool {
	if len(a) != len(b) {
		return false
	}
	ac := make([]string, len(a))
	bc := make([]string, len(b))
	for i := range a {
		ac[i], bc[i] = string(a[i].Code), string(b[i].Code)
	}
	slices.Sort(ac)
	slices.Sort(bc)
	return slices.Equal(ac, bc)
}
