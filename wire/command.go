package wire

import "time"

// Remote query operations (CommandRequest.Op). All but raw are read-only;
// an agent refuses raw unless the device's configuration allows it.
const (
	OpStatus     = "status"     // probe the device now: StatusResult
	OpIdentify   = "identify"   // read its identity now: Identity
	OpCounters   = "counters"   // the last poll's measurements: CountersResult
	OpOperations = "operations" // what the agent allows for it: OperationsResult
	OpRaw        = "raw"        // bytes to the device (Args["hex"]): RawResult
)

// StatusResult is CommandResponse.Result of a status query.
type StatusResult struct {
	State        HealthState        `json:"state"`
	Faults       []Fault            `json:"faults,omitempty"`
	Detail       string             `json:"detail,omitempty"`
	Identity     *Identity          `json:"identity,omitempty"`
	Measurements map[string]float64 `json:"measurements,omitempty"`
	TookMS       float64            `json:"took_ms"`
}

// CountersResult is CommandResponse.Result of a counters query: what the
// poller last measured, without touching the device.
type CountersResult struct {
	Measurements map[string]float64 `json:"measurements"`
	LastPoll     time.Time          `json:"last_poll"`
	State        HealthState        `json:"state"`
}

// OperationsResult is CommandResponse.Result of an operations query.
type OperationsResult struct {
	Operations []string `json:"operations"`
}

// RawResult is CommandResponse.Result of a raw query: the device's answer.
type RawResult struct {
	Hex string `json:"hex"`
}
