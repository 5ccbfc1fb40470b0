package incident

// Args fill a timeline sentence's {placeholders}: fault (a fault code),
// since and cleared (store-local times), hold_down, hold_up, window and
// quiet (durations in store time), changes, count, priority, device and
// notification (a NotificationKind).
type Args map[string]string

// The sentences a timeline entry can name (Entry.Say). The ticket catalog's
// languages have a console: text for each (hub/tickets SaySentences).
const (
	SayOpened           = "opened"
	SayOpenedFlapping   = "opened_flapping"
	SayChronic          = "chronic"
	SayBack             = "back"
	SayFlapping         = "flapping"
	SayFlappingStopped  = "flapping_stopped"
	SayRecovered        = "recovered"
	SayRecoveredConfirm = "recovered_confirm"
	SayNotified         = "notified"
	SayAcknowledged     = "acknowledged"
)

// Sentences lists every Say value.
var Sentences = []string{SayOpened, SayOpenedFlapping, SayChronic, SayBack, SayFlapping, SayFlappingStopped,
	SayRecovered, SayRecoveredConfirm, SayNotified, SayAcknowledged}

// SuppressReasons are the values of LogEntry.Suppressed: why a fault
// episode opened no incident.
var SuppressReasons = []string{"never", "hold_down", "startup", "outage", "closed", "maintenance", "grace"}

// Resolutions are the values of Incident.Resolution.
var Resolutions = []string{ResolutionRecovered, ResolutionClosed, ResolutionHelpdesk}
