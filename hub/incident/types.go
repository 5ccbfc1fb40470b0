package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// State is an incident's lifecycle state.
type State string

// Incident states. Open and acknowledged incidents are "live": the engine
// keeps them in memory and a new occurrence of the fault updates them.
const (
	StateOpen         State = "open"
	StateAcknowledged State = "acknowledged"
	StateResolved     State = "resolved" // closed by the engine: the fault recovered by itself
	StateClosed       State = "closed"   // closed by a person
)

// Live reports whether the incident is still being worked on.
func (s State) Live() bool { return s == StateOpen || s == StateAcknowledged }

// Kind says what an incident is about.
type Kind string

// Incident kinds.
const (
	KindFault        Kind = "fault"         // one fault on one device
	KindAgentOffline Kind = "agent_offline" // the store's agent is gone (WAN, power, PC)
	KindChronic      Kind = "chronic"       // the same fault keeps coming back on one device
	// KindHubOutage: the hub cannot hear its stores (its broker connection
	// is down, or most agents went silent at once). It has no tenant or
	// store, and helpdesks do not hear of it.
	KindHubOutage Kind = "hub_outage"
)

// Resolutions.
const (
	ResolutionRecovered = "recovered_by_itself"
	ResolutionClosed    = "closed_by_user"
	// ResolutionHelpdesk: a person closed, rejected or deleted the
	// incident's ticket in the external helpdesk.
	ResolutionHelpdesk = "closed_in_helpdesk"
)

// Facts are what first-line support asks on the phone: the store, the
// device and its fault as a ticket states them. (tickets.Text is a ticket's
// rendered text, helpdesk.Ticket the helpdesk's own ticket.)
type Facts struct {
	StoreName    string        `json:"store_name,omitempty"`
	StoreAddress string        `json:"store_address,omitempty"`
	Country      string        `json:"country,omitempty"`
	TimeZone     string        `json:"timezone,omitempty"`
	Location     string        `json:"location,omitempty"` // lane 3
	DeviceKind   string        `json:"device_kind,omitempty"`
	Driver       string        `json:"driver,omitempty"`
	Criticality  string        `json:"criticality,omitempty"`
	Vendor       string        `json:"vendor,omitempty"`
	Model        string        `json:"model,omitempty"`
	Serial       string        `json:"serial,omitempty"`
	Firmware     string        `json:"firmware,omitempty"`
	Faults       []wire.Fault  `json:"faults,omitempty"` // every fault active on the device when last seen
	Severity     wire.Severity `json:"severity"`
	Remedy       wire.Remedy   `json:"remedy"`
	Runbook      string        `json:"runbook"` // what the fault means, from the vocabulary
}

// Incident is one ticket in the built-in ticket store.
type Incident struct {
	ID       string         `json:"id"`
	Key      string         `json:"key"`       // the fingerprint, tenant/store/device/fault
	DedupKey string         `json:"dedup_key"` // sha256 of Key, for helpdesk idempotency markers
	Kind     Kind           `json:"kind"`
	Tenant   string         `json:"tenant"`
	Store    string         `json:"store"`
	Agent    string         `json:"agent,omitempty"`
	Device   string         `json:"device,omitempty"`
	Fault    wire.FaultCode `json:"fault"`
	Title    string         `json:"title"`
	State    State          `json:"state"`
	// Resolution says how a resolved or closed incident ended.
	Resolution string `json:"resolution,omitempty"`
	// Active is whether the fault is present now (a recovered incident that
	// waits for a person to close it has Active false).
	Active   bool  `json:"active"`
	Flapping bool  `json:"flapping"`
	Facts    Facts `json:"ticket"`   // "ticket" as stored and served
	Impact   int   `json:"impact"`   // 1 high .. 3 low
	Urgency  int   `json:"urgency"`  // 1 high .. 3 low
	Priority int   `json:"priority"` // 1 critical .. 5 planning
	// Occurrences counts the episodes of the fault within this incident;
	// OccurrencesBefore the earlier ones in the chronic window.
	Occurrences       int       `json:"occurrences"`
	OccurrencesBefore int       `json:"occurrences_before"`
	FirstSeen         time.Time `json:"first_seen"`
	OpenedAt          time.Time `json:"opened_at"`
	ResponseDue       time.Time `json:"response_due,omitzero"`
	ResolutionDue     time.Time `json:"resolution_due,omitzero"`
	AcknowledgedAt    time.Time `json:"acknowledged_at,omitzero"`
	RecoveredAt       time.Time `json:"recovered_at,omitzero"`
	ClosedAt          time.Time `json:"closed_at,omitzero"`
	UpdatedAt         time.Time `json:"updated_at"`
	// ClosedBy and CloseReason say who closed the incident (a person in the
	// hub, or the helpdesk whose ticket a person closed) and why.
	ClosedBy    string `json:"closed_by,omitempty"`
	CloseReason string `json:"close_reason,omitempty"`
	// Flaps is how many state changes within the flap window made the fault
	// flapping.
	Flaps int `json:"flaps,omitempty"`
	// Helpdesk is the ticket an external helpdesk keeps for this incident,
	// once it has one.
	Helpdesk *HelpdeskTicket `json:"helpdesk,omitempty"`
	// Version grows with every change, so a connector can order updates.
	Version uint64 `json:"version"`
}

// Ticket returns the incident's Facts under the name they had before, for
// web console templates written for it (api.console_dir).
func (inc Incident) Ticket() Facts { return inc.Facts }

// HelpdeskTicket is an external helpdesk's ticket for one incident.
type HelpdeskTicket struct {
	Helpdesk string    `json:"helpdesk"` // the configured helpdesk's name
	ID       string    `json:"id"`       // the helpdesk's ticket id (Redmine issue number)
	URL      string    `json:"url,omitempty"`
	Linked   time.Time `json:"linked"`
	// ClosedByPerson is closed, rejected, resolved or deleted when a person
	// did that to the ticket in the helpdesk; storewatch then posts nothing
	// more to it.
	ClosedByPerson string    `json:"closed_by_person,omitempty"`
	ClosedAt       time.Time `json:"closed_at,omitzero"`
}

// String names the ticket for people: "redmine #4711".
func (t HelpdeskTicket) String() string {
	id := t.ID
	if id != "" && id[0] >= '0' && id[0] <= '9' {
		id = "#" + id
	}
	return t.Helpdesk + " " + id
}

// DedupKey is the external idempotency marker for a fingerprint.
func DedupKey(key string) string {
	s := sha256.Sum256([]byte(key))
	return hex.EncodeToString(s[:])
}

// EntryKind names a timeline entry.
type EntryKind string

// Timeline entry kinds.
const (
	EntryOpened       EntryKind = "opened"
	EntryState        EntryKind = "state"        // acknowledged, resolved, closed, reopened
	EntryComment      EntryKind = "comment"      // by a person or by the engine
	EntryPriority     EntryKind = "priority"     // priority changed
	EntryFlapping     EntryKind = "flapping"     // entered or left flapping
	EntryOccurrence   EntryKind = "occurrence"   // the fault came back while the incident was live
	EntryNotification EntryKind = "notification" // a lifecycle notification was queued for connectors
	EntryHelpdesk     EntryKind = "helpdesk"     // an external helpdesk opened a ticket, or a person closed it there
)

// Entry is one line of an incident's timeline.
type Entry struct {
	Incident string    `json:"incident"`
	At       time.Time `json:"at"`
	Kind     EntryKind `json:"kind"`
	Author   string    `json:"author"` // "storehub" for the engine
	Text     string    `json:"text"`   // in English, as the API has always said it
	// Say names the sentence Text is, for a reader in another language
	// (the console renders it from the ticket catalog's console: texts);
	// Args fills its {placeholders}. Empty: Text is all there is.
	Say  string            `json:"say,omitempty"`
	Args map[string]string `json:"args,omitempty"`
}

// NotificationKind is a lifecycle change a helpdesk connector acts on.
type NotificationKind string

// Notification kinds.
const (
	NotifyOpened   NotificationKind = "opened"
	NotifyUpdated  NotificationKind = "updated"
	NotifyResolved NotificationKind = "resolved"
	NotifyClosed   NotificationKind = "closed"
	NotifyFlapping NotificationKind = "flapping"
	NotifyChronic  NotificationKind = "chronic"
)

// Notification is one entry of the durable stream connectors consume. Seq is
// assigned by the store when it is committed.
type Notification struct {
	Seq      uint64           `json:"seq"`
	Kind     NotificationKind `json:"kind"`
	At       time.Time        `json:"at"`
	Incident Incident         `json:"incident"` // snapshot after the change
	Text     string           `json:"text,omitempty"`
	// PreviousPriority is the priority before the change, when an update
	// changed it.
	PreviousPriority int `json:"previous_priority,omitempty"`
}

// LogKind names an event-log entry.
type LogKind string

// Event-log entry kinds.
const (
	LogState    LogKind = "state"    // a device changed health state
	LogPresence LogKind = "presence" // an agent came online or went offline
	LogEpisode  LogKind = "episode"  // a fault episode ended (with its duration)
	LogIncident LogKind = "incident" // an incident changed state
	LogOutage   LogKind = "outage"   // the hub's own outage: blind, heard again, settled; its incident
)

// LogEntry is one line of the append-only event log that reports read.
type LogEntry struct {
	At       time.Time        `json:"at"`
	Kind     LogKind          `json:"kind"`
	Tenant   string           `json:"tenant"`
	Store    string           `json:"store"`
	Agent    string           `json:"agent,omitempty"`
	Device   string           `json:"device,omitempty"`
	DevKind  string           `json:"device_kind,omitempty"`
	Vendor   string           `json:"vendor,omitempty"`
	Model    string           `json:"model,omitempty"`
	Firmware string           `json:"firmware,omitempty"`
	State    string           `json:"state,omitempty"`
	Faults   []wire.FaultCode `json:"faults,omitempty"`
	Since    time.Time        `json:"since,omitzero"`
	Duration float64          `json:"duration_s,omitempty"`
	Flapping bool             `json:"flapping,omitempty"`
	// Suppressed says why an episode opened nothing: closed, grace,
	// maintenance, stale, hold_down, startup (the hold-down counted from the
	// end of the agent's start-up grace), never.
	Suppressed string `json:"suppressed,omitempty"`
	Incident   string `json:"incident,omitempty"`
	Detail     string `json:"detail,omitempty"`
}

// StoreRecord is what the hub knows about a store.
type StoreRecord struct {
	Tenant    string         `json:"tenant"`
	Store     string         `json:"store"`
	Info      wire.StoreInfo `json:"info"`
	Agents    []string       `json:"agents"`
	UpdatedAt time.Time      `json:"updated_at"`
}

// DeviceRecord is the hub's view of one device.
type DeviceRecord struct {
	Tenant      string           `json:"tenant"`
	Store       string           `json:"store"`
	Agent       string           `json:"agent"`
	ID          string           `json:"id"`
	Kind        string           `json:"kind,omitempty"`
	Driver      string           `json:"driver,omitempty"`
	Location    string           `json:"location,omitempty"`
	Criticality wire.Criticality `json:"criticality,omitempty"`
	Identity    wire.Identity    `json:"identity"`
	// State is the reported state, or stale while the agent is offline.
	State    wire.HealthState `json:"state"`
	Reported wire.HealthState `json:"reported"` // the last state the agent sent
	// Holder is who has the device while it is reported busy ("in use by
	// POS.exe (pid 4312)"), as far as the agent could tell.
	Holder  *wire.Holder `json:"holder,omitempty"`
	Faults  []wire.Fault `json:"faults,omitempty"`
	Since   time.Time    `json:"since,omitzero"`
	LastSeq uint64       `json:"last_seq,omitempty"`
	Updated time.Time    `json:"updated,omitzero"`
	// Changes are the latest times each of the device's faults came or
	// went within the flap window (at most the flap threshold of them), so
	// that an engine restored from the store (a partition taken over by
	// another replica, a restarted hub) counts a flapping device's changes
	// on. Without them a failover in the middle of a flap started the count
	// again, and the device's flapping ticket never opened (seen in the
	// 1,000-store chain over three replicas with one killed).
	Changes map[wire.FaultCode][]time.Time `json:"changes,omitempty"`
}

// AgentRecord is the hub's view of one agent.
type AgentRecord struct {
	Tenant   string    `json:"tenant"`
	Store    string    `json:"store"`
	Agent    string    `json:"agent"`
	Online   bool      `json:"online"`
	Boot     string    `json:"boot,omitempty"`
	Version  string    `json:"version,omitempty"`
	OS       string    `json:"os,omitempty"`   // from the birth: windows/amd64
	Since    time.Time `json:"since,omitzero"` // online or offline since (hub time)
	BootTime time.Time `json:"boot_time,omitzero"`
	LastSeen time.Time `json:"last_seen,omitzero"`
	// Inventory is when the agent made the inventory last applied (its
	// header's time, with Boot): the same retained inventory delivered
	// again changes nothing.
	Inventory time.Time       `json:"inventory,omitzero"`
	Seq       SeqWindow       `json:"seq"`
	Heartbeat *wire.Heartbeat `json:"heartbeat,omitempty"`
	// BacklogRising counts the heartbeats in a row whose outbox backlog
	// was larger than the one before: an agent that cannot get its
	// messages out.
	BacklogRising int `json:"backlog_rising,omitempty"`
	// Found is what the agent's discovery sees on the store PC that none
	// of its devices watches (from its last inventory).
	Found []wire.Found `json:"found,omitempty"`
	// Started is when the agent's current boot began and GraceUntil when
	// its start-up grace ended (from the birth; Started is never later than
	// the birth's receipt). A fault first seen between the two has its
	// hold-down counted from GraceUntil.
	Started    time.Time `json:"started,omitzero"`
	GraceUntil time.Time `json:"grace_until,omitzero"`
	// Conn is the highest connection number (wire.Status.Conn) seen in
	// this boot's births and wills.
	Conn uint64 `json:"conn,omitempty"`
	// IgnoredWills counts offline messages from an earlier boot or from a
	// connection the agent had already replaced.
	IgnoredWills uint64 `json:"ignored_wills"`
}

// ID returns the agent's identity.
func (a AgentRecord) ID() wire.AgentID {
	return wire.AgentID{Tenant: a.Tenant, Store: a.Store, Agent: a.Agent}
}

// Window is a maintenance window: nothing opens for the store (or only the
// device) while it lasts, nor for a power-on grace after it.
type Window struct {
	ID        string    `json:"id"`
	Tenant    string    `json:"tenant"`
	Store     string    `json:"store"`
	Device    string    `json:"device,omitempty"` // empty: the whole store
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	Reason    string    `json:"reason,omitempty"`
	CreatedBy string    `json:"created_by,omitempty"`
}

// Covers reports whether the window applies to the device (or the store, for
// device "") at t.
func (w Window) Covers(tenant, store, device string, t time.Time) bool {
	return w.Tenant == tenant && w.Store == store && (w.Device == "" || w.Device == device) &&
		!t.Before(w.Start) && t.Before(w.End)
}

// Episode is one recorded occurrence of a fault, for chronic detection and
// for "how often on this device and this model" on tickets.
type Episode struct {
	Key   string    `json:"key"`
	Start time.Time `json:"start"`
	Model string    `json:"model,omitempty"` // the device's model when the episode was recorded
}

// TicketLink records a helpdesk ticket on an incident that is no longer
// live (Changes.Tickets): the engine keeps live incidents itself and writes
// them whole, but a finished one exists only in the store.
type TicketLink struct {
	Incident string
	Ticket   HelpdeskTicket
}

// Changes is what one engine call changed; the caller commits it atomically.
type Changes struct {
	Incidents     []Incident     // upserts, latest last
	Timeline      []Entry        // appended
	Notifications []Notification // appended to the durable stream
	Log           []LogEntry     // appended to the event log
	Stores        []StoreRecord
	Agents        []AgentRecord
	Devices       []DeviceRecord
	Episodes      []Episode
	Windows       []Window // upserts
	DeleteWindows []string
	Tickets       []TicketLink // applied to stored incidents after the upserts
}

// Empty reports whether nothing changed.
func (c *Changes) Empty() bool {
	return len(c.Incidents)+len(c.Timeline)+len(c.Notifications)+len(c.Log)+len(c.Stores)+
		len(c.Agents)+len(c.Devices)+len(c.Episodes)+len(c.Windows)+len(c.DeleteWindows)+len(c.Tickets) == 0
}

// Merge appends o to c.
func (c *Changes) Merge(o Changes) {
	c.Incidents = append(c.Incidents, o.Incidents...)
	c.Timeline = append(c.Timeline, o.Timeline...)
	c.Notifications = append(c.Notifications, o.Notifications...)
	c.Log = append(c.Log, o.Log...)
	c.Stores = append(c.Stores, o.Stores...)
	c.Agents = append(c.Agents, o.Agents...)
	c.Devices = append(c.Devices, o.Devices...)
	c.Episodes = append(c.Episodes, o.Episodes...)
	c.Windows = append(c.Windows, o.Windows...)
	c.DeleteWindows = append(c.DeleteWindows, o.DeleteWindows...)
	c.Tickets = append(c.Tickets, o.Tickets...)
}

// Snapshot is the state the engine restarts from.
type Snapshot struct {
	Stores    []StoreRecord
	Agents    []AgentRecord
	Devices   []DeviceRecord
	Incidents []Incident // live and recovered-but-open incidents
	Episodes  []Episode
	Windows   []Window
	LastID    uint64 // the highest incident number handed out
}
