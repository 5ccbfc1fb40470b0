package demo

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
)

// hubStore is what the ticker reads from the hub's store: the notification
// stream, the event log and the day's incidents.
type hubStore interface {
	Notifications(after uint64, limit int) ([]incident.Notification, error)
	Notified() <-chan struct{}
	Log(from, to time.Time, limit int) ([]incident.LogEntry, error)
	Incidents(f store.Filter) ([]incident.Incident, error)
}

// ticker prints the day as it happens: the script's narration, every ticket
// change from the hub's notification stream (the stream helpdesk connectors
// consume), and every fault episode that ended without a ticket, with the
// hub's reason, from its event log. Times are store time.
type ticker struct {
	w     io.Writer
	clock dayClock
	// policy is the store-time policy, to say which hold-down a fault
	// stayed under.
	policy incident.Policy
	st     hubStore
	from   time.Time // the day's start: earlier runs on the same data are not shown

	mu sync.Mutex // serialises output

	readMu sync.Mutex // one catchUp at a time
	after  uint64     // the last notification shown
	seen   map[string]bool
}

const columns = "%s  %-7s %s\n"

func (t *ticker) printf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, format, args...)
}

func (t *ticker) narrate(at time.Time, text string) {
	t.printf(columns, t.clock.label(at), "store", text)
}

// ticket prints one notification as a row of the live ticket table.
func (t *ticker) ticket(n incident.Notification) {
	inc := n.Incident
	var what []string
	if m := strings.TrimSpace(inc.Facts.Vendor + " " + inc.Facts.Model); m != "" {
		what = append(what, m)
	}
	if inc.Facts.Serial != "" {
		what = append(what, "s/n "+inc.Facts.Serial)
	}
	if inc.Flapping && n.Kind == incident.NotifyOpened {
		what = append(what, "flapping")
	}
	if n.Text != "" && n.Kind != incident.NotifyOpened {
		what = append(what, strings.ReplaceAll(n.Text, "_", " "))
	}
	t.printf(columns, t.clock.label(n.At), "TICKET", fmt.Sprintf("%-10s P%d %-9s %-15s %-13s %-20s %s",
		inc.ID, inc.Priority, n.Kind, inc.Device, inc.Facts.Location, inc.Fault, strings.Join(what, ", ")))
}

// quiet prints a fault episode that opened nothing, and why.
func (t *ticker) quiet(l incident.LogEntry) {
	if len(l.Faults) == 0 {
		return
	}
	code := l.Faults[0]
	lasted := time.Duration(l.Duration * float64(time.Second) * t.clock.speed).Round(time.Second)
	var why string
	switch {
	case l.Flapping:
		// Too short for a ticket by itself, but one change too many.
		t.printf(columns, t.clock.label(l.At), "hub", fmt.Sprintf("%s %s lasted %s: %d changes within %s, it is flapping",
			l.Device, code, human(lasted), t.policy.FlapThreshold, human(t.policy.FlapWindow)))
		return
	case l.Suppressed == "hold_down":
		why = fmt.Sprintf("lasted %s, less than its %s hold-down", human(lasted), human(t.policy.For(l.DevKind, code).HoldDown))
	case l.Suppressed == "grace":
		why = fmt.Sprintf("lasted %s, within the power-on grace after opening", human(lasted))
	case l.Suppressed == "never":
		why = fmt.Sprintf("lasted %s; a warning for the staff, never a ticket", human(lasted))
	default:
		why = fmt.Sprintf("lasted %s (%s)", human(lasted), l.Suppressed)
	}
	t.printf(columns, t.clock.label(l.At), "hub", fmt.Sprintf("no ticket: %s %s %s", l.Device, code, why))
}

// follow prints notifications and quiet episodes as they come, until ctx
// ends.
func (t *ticker) follow(ctx context.Context) {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		wake := t.st.Notified()
		t.catchUp()
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-poll.C:
		}
	}
}

// catchUp prints the notifications and quiet episodes not shown yet.
func (t *ticker) catchUp() {
	t.readMu.Lock()
	defer t.readMu.Unlock()
	if ns, err := t.st.Notifications(t.after, 1000); err == nil {
		for _, n := range ns {
			t.after = n.Seq
			if n.Incident.Tenant == tenant && n.Incident.Store == storeID && !n.At.Before(t.from) {
				t.ticket(n)
			}
		}
	}
	// Episodes are logged at the time they ended, which can be before
	// entries already read: read the day's log again and skip what was
	// printed.
	log, err := t.st.Log(t.from, time.Now().Add(time.Hour), 100000)
	if err != nil {
		return
	}
	if t.seen == nil {
		t.seen = map[string]bool{}
	}
	for _, l := range log {
		key := fmt.Sprint(l.At.UnixNano(), l.Device, l.Faults, l.Since.UnixNano())
		if l.Kind != incident.LogEpisode || l.Suppressed == "" || l.Store != storeID || t.seen[key] {
			continue
		}
		t.seen[key] = true
		t.quiet(l)
	}
}

// summary prints every ticket of the day as a table. Its error is the
// store's.
func (t *ticker) summary() error {
	incs, err := t.st.Incidents(store.Filter{Tenant: tenant, Store: storeID, Since: t.from})
	if err != nil {
		return err
	}
	slices.Reverse(incs) // oldest first
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(t.w, "\nThe day's tickets:\n")
	tw := tabwriter.NewWriter(t.w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TICKET\tP\tSTATE\tDEVICE\tWHERE\tFAULT\tOPENED\tENDED\tNOTE")
	for _, inc := range incs {
		ended, note := "", strings.ReplaceAll(inc.Resolution, "_", " ")
		if !inc.ClosedAt.IsZero() {
			ended = t.clock.label(inc.ClosedAt)
		}
		if inc.Flapping {
			note = "flapping"
		}
		fmt.Fprintf(tw, "  %s\tP%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", inc.ID, inc.Priority, inc.State, inc.Device, inc.Facts.Location,
			inc.Fault, t.clock.label(inc.OpenedAt), ended, note)
	}
	if len(incs) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	tw.Flush() // like every line printed, best effort: nobody may be reading (storewatch-demo | head)
	return nil
}

// human writes a duration without trailing zero units: 3m, 1m19s, 168h.
func human(d time.Duration) string { return incident.Human(d) }
