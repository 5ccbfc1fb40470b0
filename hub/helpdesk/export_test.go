package helpdesk

import (
	"time"

	"github.com/storewatch/storewatch/hub/tickets"
)

// For the tests in package helpdesk_test, which use the test kit
// (helpdesktest) and so cannot be in this package.

// SetAfterOpen installs a hook that runs between a successful Open and
// storing the ticket id; returning true abandons the delivery there, as a
// crash would.
func (o *Outbox) SetAfterOpen(f func() bool) { o.afterOpen = f }

// DueTimes returns when each queued call is next attempted.
func (o *Outbox) DueTimes() []time.Time {
	o.mu.Lock()
	defer o.mu.Unlock()
	var out []time.Time
	for _, at := range o.due {
		out = append(out, at)
	}
	return out
}

// Matches reports whether the rule matches the incident.
func (r Rule) Matches(in tickets.Brief) bool { return r.matches(in) }
