package tickets

import (
	"fmt"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Occasion is what happened to an incident that is worth telling a
// helpdesk: the occasion a ticket text is written for. (incident.Kind is
// what an incident is about: a fault, an agent offline, a chronic problem.)
type Occasion string

// The occasions, in the order an incident usually goes through them.
const (
	// Opened: a new incident (a device fault, or a whole store offline when
	// Incident.Device is empty).
	Opened Occasion = "opened"
	// Updated: a material change (priority, detail, more of the store
	// affected). Never a periodic reminder.
	Updated Occasion = "updated"
	// Resolved: the device recovered by itself. Incident.AutoClose says
	// whether the ticket is closed or only commented.
	Resolved Occasion = "resolved"
	// Closed: the incident was closed in the hub (by a person or by policy);
	// the ticket is closed too.
	Closed Occasion = "closed"
	// Flapping: the fault keeps coming and going; summarised once instead of
	// a storm of open and resolve.
	Flapping Occasion = "flapping"
	// Chronic: the same fault recurred often enough on one device to be a
	// problem of its own ("chronic problem" ticket).
	Chronic Occasion = "chronic"
)

// Occasions lists every occasion.
var Occasions = []Occasion{Opened, Updated, Resolved, Closed, Flapping, Chronic}

// Valid reports whether k is a known occasion.
func (k Occasion) Valid() bool {
	for _, v := range Occasions {
		if k == v {
			return true
		}
	}
	return false
}

// Opens reports whether a notification of this kind may create a ticket
// when the occurrence has none yet. Resolved and closed never do: there is
// nothing to resolve in a helpdesk that never heard of the incident.
func (k Occasion) Opens() bool { return k != Resolved && k != Closed }

// Brief is the snapshot of an incident that ticket texts and helpdesk
// calls are made from. The incident engine fills it; nothing here looks
// anything up. Times are absolute; they are shown in the store's time zone
// and in UTC.
type Brief struct {
	// Key is the incident's fingerprint: tenant/store/device/fault code (or
	// tenant/store/agent_offline for a store-level incident).
	Key    string `json:"key"`
	Tenant string `json:"tenant"`
	Store  string `json:"store"`

	StoreName string `json:"store_name,omitempty"`
	Address   string `json:"address,omitempty"`
	Country   string `json:"country,omitempty"` // ISO 3166-1 alpha-2
	Region    string `json:"region,omitempty"`
	TimeZone  string `json:"timezone,omitempty"` // IANA name; UTC when empty

	// Device is empty for a store-level incident (agent offline).
	Device   string        `json:"device,omitempty"`
	Kind     string        `json:"kind,omitempty"`     // receipt_printer, scale, ...
	Location string        `json:"location,omitempty"` // "lane 3", "deli counter"
	Identity wire.Identity `json:"identity"`

	Fault    wire.FaultCode `json:"fault"`
	Detail   string         `json:"detail,omitempty"` // what the driver saw, for engineers
	Severity wire.Severity  `json:"severity,omitempty"`
	Remedy   wire.Remedy    `json:"remedy,omitempty"` // empty: the vocabulary's default

	// Priority is 1 (critical) to 5 (planning), 0 when not set.
	Priority         int       `json:"priority,omitempty"`
	PreviousPriority int       `json:"previous_priority,omitempty"` // for Updated
	SLADue           time.Time `json:"sla_due,omitempty"`

	FirstSeen time.Time `json:"first_seen"`
	// Changed is when the state this notification reports began: recovery
	// time for Resolved, closing time for Closed, the update's time otherwise.
	Changed time.Time `json:"changed,omitempty"`

	// How often this fault happened in the last 30 days, on this device and
	// on this model (across the tenant's stores).
	DeviceCount30d int `json:"device_count_30d"`
	ModelCount30d  int `json:"model_count_30d"`

	Flaps           int           `json:"flaps,omitempty"`            // state changes in the flap window (Flapping)
	FlapWindow      time.Duration `json:"flap_window,omitempty"`      // that window
	Recurrences     int           `json:"recurrences,omitempty"`      // occurrences that made it chronic (Chronic)
	ChronicWindow   time.Duration `json:"chronic_window,omitempty"`   // over how long
	AffectedDevices []string      `json:"affected_devices,omitempty"` // store-level: devices that went stale

	// AutoClose is the incident's policy on recovery: close the ticket as
	// "recovered by itself", or only comment and let a person close it.
	AutoClose bool `json:"auto_close,omitempty"`

	// ClosedBy and Reason say who closed the incident in the hub and why
	// (Closed).
	ClosedBy string `json:"closed_by,omitempty"`
	Reason   string `json:"reason,omitempty"`

	URL string `json:"url,omitempty"` // deep link to the incident in the hub's console
}

// StoreLevel reports whether the incident concerns a whole store (its agent
// is offline) rather than one device.
func (in Brief) StoreLevel() bool { return in.Device == "" }

// RemedyClass is the incident's remedy, or the vocabulary's default for its
// fault.
func (in Brief) RemedyClass() wire.Remedy {
	if in.Remedy != "" {
		return in.Remedy
	}
	if f, ok := wire.Lookup(in.Fault); ok {
		return f.Remedy
	}
	return wire.RemedyRemote
}

// Check reports what makes a snapshot unusable for a ticket.
func (in Brief) Check() error {
	switch {
	case in.Key == "":
		return fmt.Errorf("incident: no key")
	case in.Tenant == "" || in.Store == "":
		return fmt.Errorf("incident %s: tenant and store are required", in.Key)
	case !in.Fault.Known():
		return fmt.Errorf("incident %s: unknown fault code %q", in.Key, in.Fault)
	case in.Priority < 0 || in.Priority > 5:
		return fmt.Errorf("incident %s: priority %d is outside 1..5", in.Key, in.Priority)
	}
	if in.TimeZone != "" {
		if _, err := time.LoadLocation(in.TimeZone); err != nil {
			return fmt.Errorf("incident %s: time zone %q: %w", in.Key, in.TimeZone, err)
		}
	}
	switch in.Remedy {
	case "", wire.RemedyStore, wire.RemedyRemote, wire.RemedyDispatch:
	default:
		return fmt.Errorf("incident %s: unknown remedy class %q", in.Key, in.Remedy)
	}
	return nil
}
