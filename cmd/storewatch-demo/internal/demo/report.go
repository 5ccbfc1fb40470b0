package demo

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
	"time"
	"unicode/utf8"

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
// hub's reason, from its event log. Times are store time, and lines come out
// in their time order: each waits a moment (lag) for anything that happened
// before it and reaches the ticker later (an episode is logged when the hub
// learns it ended, a ticket change when its commit is read).
//
// On a terminal (live) the ticker redraws one table in place: the day's
// tickets with their state, and the latest lines under it. Otherwise (a
// pipe, a file, the tests) it writes the lines as a stream.
type ticker struct {
	w     io.Writer
	clock dayClock
	// policy is the store-time policy, to say which hold-down a fault
	// stayed under.
	policy incident.Policy
	st     hubStore
	from   time.Time // the day's start: earlier runs on the same data are not shown
	// live redraws a table in place (a terminal of width columns).
	live  bool
	width int
	// lag is how long a line waits for earlier ones.
	lag time.Duration

	mu      sync.Mutex // serialises output and the fields below
	pending []line
	seq     int
	recent  []string                     // live: the latest lines
	tickets map[string]incident.Incident // live: the day's tickets by id
	opened  map[string]bool              // incidents whose opening was shown
	drawn   int                          // live: lines of the table on screen
	shown   string                       // live: the store minute the table shows
	last    time.Time                    // the latest time a line was shown at

	readMu sync.Mutex // one catchUp at a time
	after  uint64     // the last notification shown
	seen   map[string]bool
}

// line is one line of the day, waiting for its turn.
type line struct {
	at        time.Time
	seq       int
	who, text string
}

const columns = "%s  %-7s %s\n"

// recentLines is how many of the latest lines the live table shows.
const recentLines = 10

// newTicker makes the day's ticker. A line waits a store minute for
// earlier ones, and at least a real second (what an episode's end takes
// from the emulator through the agent's debounce, MQTT and the hub's commit
// to the ticker), at most three, so the live view stays live.
func newTicker(w io.Writer, clock dayClock, st hubStore, from time.Time, live bool, width int) *ticker {
	lag := min(max(clock.compress(time.Minute), time.Second), 3*time.Second)
	return &ticker{w: w, clock: clock, policy: incident.DefaultPolicy(), st: st, from: from, live: live, width: width, lag: lag,
		tickets: map[string]incident.Incident{}, opened: map[string]bool{}}
}

// printf writes text below everything the ticker has shown (the live table
// stays as it was last drawn).
func (t *ticker) printf(format string, args ...any) {
	t.flush(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live, t.drawn = false, 0
	fmt.Fprintf(t.w, format, args...)
}

// emit queues a line. Its time is kept by the wall clock only (as story
// reads it), so that lines are ordered and labelled by the same clock.
func (t *ticker) emit(at time.Time, who, text string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.seq++
	t.pending = append(t.pending, line{at.Round(0), t.seq, who, text})
}

func (t *ticker) narrate(at time.Time, text string) { t.emit(at, "store", text) }

// flush writes the lines whose turn has come (all of them with all), in
// time order, and redraws the live table.
func (t *ticker) flush(all bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	slices.SortStableFunc(t.pending, func(a, b line) int { return cmp.Or(a.at.Compare(b.at), cmp.Compare(a.seq, b.seq)) })
	cut := time.Now().Add(-t.lag)
	n := 0
	for n < len(t.pending) && (all || !t.pending[n].at.After(cut)) {
		n++
	}
	for _, l := range t.pending[:n] {
		// A line later than its lag (a machine under load) is shown at the
		// time it reached the ticker's turn, not before lines already
		// shown: the hub said "no ticket" when it learned of the end.
		if l.at.Before(t.last) {
			l.at = t.last
		}
		t.last = l.at
		text := fmt.Sprintf(columns, t.clock.label(l.at), l.who, l.text)
		if t.live {
			t.recent = append(t.recent, strings.TrimSuffix(text, "\n"))
		} else {
			io.WriteString(t.w, text) // best effort: nobody may be reading (storewatch-demo | head)
		}
	}
	t.pending = slices.Delete(t.pending, 0, n)
	if t.live && (n > 0 || t.shown != t.clock.label(time.Now())) {
		t.redraw()
	}
}

// redraw draws the live table over the last one: the cursor goes up to
// where it began and everything below is cleared.
func (t *ticker) redraw() {
	var b strings.Builder
	if t.drawn > 0 {
		fmt.Fprintf(&b, "\x1b[%dF\x1b[J", t.drawn)
	}
	t.shown = t.clock.label(time.Now())
	rows := []string{fmt.Sprintf("store time %s · today's tickets (live; Ctrl-C stops the demo)", t.shown)}
	var tb strings.Builder
	tw := tabwriter.NewWriter(&tb, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TICKET\tP\tSTATE\tDEVICE\tWHERE\tFAULT\tOPENED\tENDED\tNOTE")
	ids := slices.Sorted(maps.Keys(t.tickets))
	for _, id := range ids {
		inc := t.tickets[id]
		fmt.Fprintln(tw, "  "+strings.Join(t.row(inc), "\t"))
	}
	if len(ids) == 0 {
		fmt.Fprintln(tw, "  (none yet)")
	}
	tw.Flush()
	rows = append(rows, strings.Split(strings.TrimRight(tb.String(), "\n"), "\n")...)
	rows = append(rows, "", "latest:")
	recent := t.recent
	if len(recent) > recentLines {
		recent = recent[len(recent)-recentLines:]
	}
	rows = append(rows, recent...)
	for _, r := range rows {
		if t.width > 1 && utf8.RuneCountInString(r) >= t.width {
			r = string([]rune(r)[:t.width-1]) // a wrapped line would throw the redraw's count off
		}
		b.WriteString(r + "\n")
	}
	t.drawn = len(rows)
	io.WriteString(t.w, b.String())
}

// row is a ticket as the tables show it.
func (t *ticker) row(inc incident.Incident) []string {
	ended, note := "", t.resolution(inc.Resolution)
	if !inc.ClosedAt.IsZero() {
		ended = t.clock.label(inc.ClosedAt)
	}
	if inc.Flapping {
		note = "flapping"
	}
	return []string{inc.ID, fmt.Sprintf("P%d", inc.Priority), string(inc.State), inc.Device, inc.Facts.Location,
		string(inc.Fault), t.clock.label(inc.OpenedAt), ended, note}
}

func (t *ticker) resolution(r string) string {
	switch r {
	case incident.ResolutionRecovered:
		return "recovered by itself"
	case incident.ResolutionClosed:
		return "closed by a person"
	case incident.ResolutionHelpdesk:
		return "closed in the helpdesk"
	}
	return strings.ReplaceAll(r, "_", " ")
}

// ticket shows one notification: a line, and the live table's row.
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
	t.mu.Lock()
	t.tickets[inc.ID] = inc
	if n.Kind == incident.NotifyOpened {
		t.opened[inc.ID] = true
	}
	t.mu.Unlock()
	t.emit(n.At, "TICKET", fmt.Sprintf("%-10s P%d %-9s %-15s %-13s %-20s %s",
		inc.ID, inc.Priority, n.Kind, inc.Device, inc.Facts.Location, inc.Fault, strings.Join(what, ", ")))
}

// notifications reads the ticket changes not shown yet; readMu is held.
func (t *ticker) notifications() {
	if ns, err := t.st.Notifications(t.after, 1000); err == nil {
		for _, n := range ns {
			t.after = n.Seq
			if n.Incident.Tenant == tenant && n.Incident.Store == storeID && !n.At.Before(t.from) {
				t.ticket(n)
			}
		}
	}
}

// shownOpened reports whether the opening of incident id is among the
// lines (after reading the ticket changes the hub has committed).
func (t *ticker) shownOpened(id string) bool {
	t.readMu.Lock()
	t.notifications()
	t.readMu.Unlock()
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.opened[id]
}

// quiet shows a fault episode that opened nothing, and why.
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
		t.emit(l.At, "hub", fmt.Sprintf("%s %s lasted %s: %d changes within %s, it is flapping",
			l.Device, code, human(lasted), t.policy.FlapThreshold, human(t.policy.FlapWindow)))
		return
	case l.Suppressed == "hold_down":
		why = fmt.Sprintf("lasted %s, less than its %s hold-down", human(lasted), human(t.policy.For(l.DevKind, code).HoldDown))
	case l.Suppressed == "startup":
		why = fmt.Sprintf("lasted %s: still down when the agent's start-up grace ended, up again within the hold-down after it", human(lasted))
	case l.Suppressed == "grace":
		why = fmt.Sprintf("lasted %s, within the power-on grace after opening", human(lasted))
	case l.Suppressed == "never":
		why = fmt.Sprintf("lasted %s; a warning for the staff, never a ticket", human(lasted))
	default:
		why = fmt.Sprintf("lasted %s (%s)", human(lasted), strings.ReplaceAll(l.Suppressed, "_", " "))
	}
	t.emit(l.At, "hub", fmt.Sprintf("no ticket: %s %s %s", l.Device, code, why))
}

// follow prints notifications and quiet episodes as they come, until ctx
// ends.
func (t *ticker) follow(ctx context.Context) {
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	for {
		wake := t.st.Notified()
		t.catchUp()
		t.flush(false)
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
	t.notifications()
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
	t.flush(true)
	t.mu.Lock()
	defer t.mu.Unlock()
	// The live table stays as it was last drawn; what comes after the day
	// goes below the summary as lines.
	t.live, t.drawn = false, 0
	fmt.Fprintf(t.w, "\nThe day's tickets:\n")
	tw := tabwriter.NewWriter(t.w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "  TICKET\tP\tSTATE\tDEVICE\tWHERE\tFAULT\tOPENED\tENDED\tNOTE")
	for _, inc := range incs {
		fmt.Fprintln(tw, "  "+strings.Join(t.row(inc), "\t"))
	}
	if len(incs) == 0 {
		fmt.Fprintln(tw, "  (none)")
	}
	tw.Flush() // like every line printed, best effort: nobody may be reading (storewatch-demo | head)
	return nil
}

// human writes a duration without trailing zero units: 3m, 1m19s, 168h.
func human(d time.Duration) string { return incident.Human(d) }
