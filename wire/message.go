package wire

import (
	"encoding/json"
	"strconv"
	"time"
)

// Version is the payload schema version this package writes and accepts.
const Version = 1

// MessageType names the payload kind; it matches the channel it travels on.
type MessageType string

// Message types.
const (
	TypeStatus    MessageType = "status"
	TypeInventory MessageType = "inventory"
	TypeEvent     MessageType = "event"
	TypeMetrics   MessageType = "metrics"
	TypeCmdReq    MessageType = "cmd_req"
	TypeCmdRes    MessageType = "cmd_res"
	TypeConfig    MessageType = "config"
)

// ChannelOf returns the channel a message type travels on.
func ChannelOf(t MessageType) Channel {
	switch t {
	case TypeStatus:
		return ChannelStatus
	case TypeInventory:
		return ChannelInventory
	case TypeEvent:
		return ChannelEvents
	case TypeMetrics:
		return ChannelMetrics
	case TypeCmdReq:
		return ChannelCmdReq
	case TypeCmdRes:
		return ChannelCmdRes
	case TypeConfig:
		return ChannelConfig
	}
	return ""
}

// TypeOf returns the message type carried on a channel.
func TypeOf(ch Channel) MessageType {
	for _, t := range []MessageType{TypeStatus, TypeInventory, TypeEvent, TypeMetrics, TypeCmdReq, TypeCmdRes, TypeConfig} {
		if ChannelOf(t) == ch {
			return t
		}
	}
	return ""
}

// Header opens every message. Seq and Boot let the hub drop duplicates (MQTT
// delivery is at least once) and see gaps: Seq grows by one for every message
// an agent's outbox accepts and survives restarts; Boot changes at every start.
type Header struct {
	V    int         `json:"v"`
	Type MessageType `json:"type"`
	AgentID
	Boot string    `json:"boot,omitempty"`
	Seq  uint64    `json:"seq,omitempty"`
	Time time.Time `json:"time"` // UTC, when the agent produced the message
}

// Head returns the header; every message type has one.
func (h *Header) Head() *Header { return h }

// Message is any payload of the contract.
type Message interface {
	Head() *Header
	validate() error
}

// Agent presence values on the status channel.
const (
	PresenceOnline  = "online"
	PresenceOffline = "offline"
)

// Status is the retained presence message: the agent's birth ("online") on
// every connect, and its MQTT will ("offline") when the broker loses it. Both
// carry the boot id, so the hub can ignore a late will from an earlier boot,
// and the connection number, so it can ignore the will of a connection the
// agent has already replaced: when an agent reconnects before the broker
// noticed its old connection was dead, the broker publishes the old
// connection's will at the takeover, after or before the new birth.
type Status struct {
	Header
	State   string    `json:"state"`             // online or offline
	Version string    `json:"version,omitempty"` // agent build version
	OS      string    `json:"os,omitempty"`      // GOOS/GOARCH of the store PC, e.g. windows/amd64
	Started time.Time `json:"started,omitzero"`  // when this boot began
	// Grace is the agent's start-up grace in seconds (polling.grace): a
	// fault first seen within it after Started is reported only if it is
	// still there at its end, and the hub counts its hold-down from that
	// end (docs/hub.md). Zero: none, or an agent that does not say.
	Grace float64 `json:"grace_s,omitempty"`
	// Conn numbers the agent's connections within the boot from 1; a birth
	// and the will registered with the same connection carry the same
	// number. Zero: an agent that does not number them.
	Conn uint64 `json:"conn,omitempty"`
	// Next, in a birth, is the lowest sequence number the agent had not
	// delivered when it connected (the oldest left in its outbox, or the
	// one after its last): every number below it the broker acknowledged
	// before, and none from it on is history. The hub asks for one below it
	// that it never saw (hub/resend), which finds a lost message even when
	// nothing follows it, or when it was the agent's first. Zero: an agent
	// that does not say.
	Next uint64 `json:"next,omitempty"`
}

// Identity is what a device says it is.
type Identity struct {
	Vendor   string            `json:"vendor,omitempty"`
	Model    string            `json:"model,omitempty"`
	Serial   string            `json:"serial,omitempty"`
	Firmware string            `json:"firmware,omitempty"`
	Extra    map[string]string `json:"extra,omitempty"`
}

// IsZero reports whether nothing is known.
func (i Identity) IsZero() bool {
	return i.Vendor == "" && i.Model == "" && i.Serial == "" && i.Firmware == "" && len(i.Extra) == 0
}

// Holder is who has a busy device, as far as the store PC's operating
// system tells: a Linux lock file or /proc names the process; Windows and a
// TCP device serving another client do not.
type Holder struct {
	Process string `json:"process,omitempty"` // program name, e.g. POS.exe
	PID     int    `json:"pid,omitempty"`
}

// String reads "in use by POS.exe (pid 4312)", or "in use by another
// program" when nothing is known.
func (h *Holder) String() string {
	switch {
	case h == nil || (h.Process == "" && h.PID <= 0):
		return "in use by another program"
	case h.Process != "" && h.PID > 0:
		return "in use by " + h.Process + " (pid " + strconv.Itoa(h.PID) + ")"
	case h.PID > 0:
		return "in use by pid " + strconv.Itoa(h.PID)
	}
	return "in use by " + h.Process
}

// StoreInfo describes the store an agent runs in; it travels in the inventory
// so the hub knows the store's time zone and trading hours.
type StoreInfo struct {
	Name     string       `json:"name,omitempty"`
	Address  string       `json:"address,omitempty"`
	Country  string       `json:"country,omitempty"` // ISO 3166-1 alpha-2
	TimeZone string       `json:"timezone"`          // IANA name, e.g. Europe/Berlin
	Hours    TradingHours `json:"hours,omitempty"`   // empty: always open
}

// Criticality says how much a device matters to the store's trading.
type Criticality string

// Criticalities.
const (
	CriticalityLow      Criticality = "low"
	CriticalityNormal   Criticality = "normal"
	CriticalityHigh     Criticality = "high"
	CriticalityCritical Criticality = "critical"
)

// Valid reports whether c is a known criticality.
func (c Criticality) Valid() bool {
	switch c {
	case CriticalityLow, CriticalityNormal, CriticalityHigh, CriticalityCritical:
		return true
	}
	return false
}

// DeviceInfo is one device in the inventory.
type DeviceInfo struct {
	ID          string      `json:"id"`
	Kind        string      `json:"kind"`   // receipt_printer, label_printer, scale, ...
	Driver      string      `json:"driver"` // escpos, zpl, sics, ...
	Address     string      `json:"address,omitempty"`
	Location    string      `json:"location,omitempty"` // "lane 3"
	Criticality Criticality `json:"criticality,omitempty"`
	Expected    *Identity   `json:"expected,omitempty"` // from config
	Identity    *Identity   `json:"identity,omitempty"` // last read from the device
	State       HealthState `json:"state,omitempty"`
	Holder      *Holder     `json:"holder,omitempty"` // who has it, when State is busy
}

// Inventory is the retained list of an agent's devices.
type Inventory struct {
	Header
	AgentVersion string       `json:"agent_version,omitempty"`
	StoreInfo    StoreInfo    `json:"store_info"`
	Devices      []DeviceInfo `json:"devices"`
	// Found are devices the agent's discovery sees on the store PC (serial
	// ports, USB devices) and, where its configuration allows a scan, on
	// the store network (Address tcp://IP:PORT or snmp://IP), that no
	// configured device watches: "found, not monitored" at the hub.
	Found []Found `json:"found,omitempty"`
}

// Found is a device discovery found and nothing monitors, with what it
// probably is and an address to configure it at.
type Found struct {
	Kind    string `json:"kind,omitempty"`   // receipt_printer, scale, ... when recognised
	Driver  string `json:"driver,omitempty"` // the driver that fits, when one does
	Address string `json:"address"`
	Vendor  string `json:"vendor,omitempty"`
	Model   string `json:"model,omitempty"`
	Serial  string `json:"serial,omitempty"`
	Note    string `json:"note,omitempty"`
}

// MaxFound bounds Inventory.Found.
const MaxFound = 64

// Event is a device health state change, decided by the agent's collector.
type Event struct {
	Header
	Device   string      `json:"device"`
	Kind     string      `json:"kind,omitempty"`
	State    HealthState `json:"state"`
	Previous HealthState `json:"previous"`
	Faults   []Fault     `json:"faults,omitempty"`
	// Since is when the first reading of the new state was taken; Time (in
	// the header) is when debounce confirmed it.
	Since        time.Time          `json:"since"`
	Reason       string             `json:"reason,omitempty"`
	Identity     *Identity          `json:"identity,omitempty"`
	Measurements map[string]float64 `json:"measurements,omitempty"`
	// Holder is who has the device, when State is busy (or the fault is
	// busy_too_long) and the operating system says.
	Holder *Holder `json:"holder,omitempty"`
}

// Sample is one measured value.
type Sample struct {
	Device string    `json:"device"` // "host" for the store PC itself
	Name   string    `json:"name"`   // "rtt_ms", "disk_free_percent:/"
	Value  float64   `json:"value"`
	Time   time.Time `json:"time"`
}

// Heartbeat is the agent's own health, sent with the metrics.
type Heartbeat struct {
	Uptime          float64           `json:"uptime_s"`
	OutboxDepth     int               `json:"outbox_depth"`
	OutboxBytes     int64             `json:"outbox_bytes"`
	OldestAge       float64           `json:"oldest_age_s"`      // age of the oldest unsent message
	Dropped         map[string]uint64 `json:"dropped,omitempty"` // by class: "telemetry", "event"
	Reconnects      uint64            `json:"reconnects"`
	OutboxIncidents []string          `json:"outbox_incidents,omitempty"` // e.g. a corrupt file moved aside
	RSSBytes        uint64            `json:"rss_bytes,omitempty"`
	Goroutines      int               `json:"goroutines,omitempty"`
	// Config is the configuration the agent runs, for the hub's fleet view.
	Config *ConfigState `json:"config,omitempty"`
}

// ConfigState says which configuration an agent runs and whether the
// last one it was given applied.
type ConfigState struct {
	// Version names the configuration: the hub's version of a pushed
	// one, else "local-" and the first 12 hex digits of the SHA-256 of
	// the local file.
	Version string `json:"version"`
	Source  string `json:"source"`          // local or hub
	Error   string `json:"error,omitempty"` // why the last configuration given did not apply; empty: it did
	// Failed is the version that did not apply, when Error is set; the
	// agent runs Version, its last good configuration.
	Failed string `json:"failed,omitempty"`
}

// Metrics is a batch of samples, optionally with a heartbeat.
type Metrics struct {
	Header
	Samples   []Sample   `json:"samples,omitempty"`
	Heartbeat *Heartbeat `json:"heartbeat,omitempty"`
}

// CommandRequest is a signed remote query from the hub to one agent.
type CommandRequest struct {
	Header
	ID        string            `json:"id"`
	Device    string            `json:"device"`
	Op        string            `json:"op"` // status, identify, counters, operations
	Args      map[string]string `json:"args,omitempty"`
	Requester string            `json:"requester"` // who asked, for the audit log
	Expires   time.Time         `json:"expires"`
	Signature []byte            `json:"sig,omitempty"` // Ed25519 over SigningBytes
}

// SigningBytes is the canonical form the hub signs and the agent verifies:
// the request's JSON encoding as Encode writes it (version and type set),
// with the signature left out.
func (r CommandRequest) SigningBytes() []byte {
	r.Signature = nil
	r.V, r.Type = Version, TypeCmdReq
	b, err := json.Marshal(r)
	if err != nil {
		panic("wire: cannot encode command request: " + err.Error())
	}
	return b
}

// CommandResponse answers a CommandRequest, matched by ID.
type CommandResponse struct {
	Header
	ID     string          `json:"id"`
	Device string          `json:"device"`
	Op     string          `json:"op"`
	OK     bool            `json:"ok"`
	Code   string          `json:"code,omitempty"`  // machine-readable failure: expired, bad_signature, replay, busy, timeout, denied, unknown_device
	Error  string          `json:"error,omitempty"` // human-readable failure
	Result json.RawMessage `json:"result,omitempty"`
	Took   float64         `json:"took_ms,omitempty"`
	// Holder is who has the device, with code device_busy, when the store
	// PC's operating system tells.
	Holder *Holder `json:"holder,omitempty"`
}
