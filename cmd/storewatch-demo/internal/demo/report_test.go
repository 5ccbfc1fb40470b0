package demo

import (
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
	"github.com/storewatch/storewatch/wire"
)

// fakeHub is a hub store with a fixed notification stream and log.
type fakeHub struct {
	ns  []incident.Notification
	log []incident.LogEntry
}

func (f *fakeHub) Notifications(after uint64, limit int) ([]incident.Notification, error) {
	var out []incident.Notification
	for _, n := range f.ns {
		if n.Seq > after {
			out = append(out, n)
		}
	}
	return out, nil
}
func (f *fakeHub) Notified() <-chan struct{} { return make(chan struct{}) }
func (f *fakeHub) Log(from, to time.Time, limit int) ([]incident.LogEntry, error) {
	return f.log, nil
}
func (f *fakeHub) Incidents(store.Filter) ([]incident.Incident, error) { return nil, nil }

// The day's lines come out in store-time order however late they reach the
// ticker: a ticket opened before the helpdesk's call is shown before it, an
// episode logged when it ended is shown where it ended.
func TestLinesComeInTimeOrder(t *testing.T) {
	start := time.Now().Add(-time.Hour) // the day's lines are long past their turn; one is not
	clock := dayClock{start: start, speed: 60}
	at := func(storeMin int) time.Time { return start.Add(time.Duration(storeMin) * time.Second) } // 60x: a store minute is a second
	inc := incident.Incident{ID: "INC-000412", Tenant: tenant, Store: storeID, Device: "receipt-lane2", Fault: wire.FaultPaperOut, Priority: 3,
		State: incident.StateOpen, OpenedAt: at(17)}
	hub := &fakeHub{
		ns: []incident.Notification{{Seq: 1, Kind: incident.NotifyOpened, At: at(17), Incident: inc}},
		log: []incident.LogEntry{{At: at(16), Kind: incident.LogEpisode, Tenant: tenant, Store: storeID, Device: "label-deli",
			Faults: []wire.FaultCode{wire.FaultCoverOpen}, Suppressed: "hold_down", Duration: 1.5, DevKind: "label_printer"}},
	}
	var out testenv.Buffer
	tk := newTicker(&out, clock, hub, start, false, 0)
	// What the script says first reaches the ticker first; what the hub
	// logged reaches it later.
	tk.narrate(at(18), "the helpdesk calls the store about INC-000412")
	tk.narrate(at(15), "lane 2 runs out of paper")
	tk.catchUp()
	tk.emit(time.Now().Add(time.Hour), "store", "far in the future: waits for its turn")
	tk.flush(false)
	got := out.String()
	want := []string{"08:15  store ", "08:16  hub     no ticket: label-deli cover_open lasted 1m30s", "08:17  TICKET  INC-000412", "08:18  store   the helpdesk calls"}
	pos := -1
	for _, w := range want {
		i := strings.Index(got, w)
		if i < 0 || i < pos {
			t.Errorf("%q missing or out of order:\n%s", w, got)
		}
		pos = i
	}
	if strings.Contains(got, "far in the future") {
		t.Errorf("a line was shown before its turn:\n%s", got)
	}
	if tk.flush(true); !strings.Contains(out.String(), "far in the future") {
		t.Errorf("flushing everything left a line behind")
	}
}

// On a terminal the day is one table redrawn in place: the cursor goes back
// over the last drawing, and no line is wider than the terminal.
func TestLiveTableIsRedrawnInPlace(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	clock := dayClock{start: start, speed: 60}
	inc := incident.Incident{ID: "INC-000412", Tenant: tenant, Store: storeID, Device: "receipt-lane2", Fault: wire.FaultPaperOut, Priority: 3,
		State: incident.StateOpen, OpenedAt: start.Add(17 * time.Second), Facts: incident.Facts{Location: "lane 2"}}
	hub := &fakeHub{ns: []incident.Notification{{Seq: 1, Kind: incident.NotifyOpened, At: inc.OpenedAt, Incident: inc}}}
	var out testenv.Buffer
	tk := newTicker(&out, clock, hub, start, true, 60)
	tk.narrate(start.Add(15*time.Second), "lane 2 runs out of paper, and this line is longer than the terminal is wide")
	tk.flush(true)
	first := out.String()
	tk.catchUp()
	tk.flush(true)
	second := strings.TrimPrefix(out.String(), first)
	if strings.Contains(first, "\x1b[") || !strings.Contains(first, "(none yet)") {
		t.Errorf("the first drawing:\n%q", first)
	}
	if !strings.HasPrefix(second, "\x1b[") || !strings.Contains(second, "F\x1b[J") {
		t.Errorf("the second drawing does not go back over the first:\n%q", second)
	}
	if !strings.Contains(second, "INC-000412") || !strings.Contains(second, "lane 2") || !strings.Contains(second, "open") {
		t.Errorf("the ticket is not in the table:\n%s", second)
	}
	for _, l := range strings.Split(strings.TrimPrefix(second, second[:strings.Index(second, "J")+1]), "\n") {
		if len([]rune(l)) >= 60 {
			t.Errorf("a line as wide as the terminal (%d runes) wraps and breaks the redraw: %q", len([]rune(l)), l)
		}
	}
}

// A line that reaches the ticker after later ones were shown (a machine
// under load) is shown at the time of the last one, never before it.
func TestALateLineIsNotShownBeforeItsTime(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	clock := dayClock{start: start, speed: 60}
	var out testenv.Buffer
	tk := newTicker(&out, clock, &fakeHub{}, start, false, 0)
	tk.narrate(start.Add(20*time.Second), "08:20's line")
	tk.flush(false)
	tk.emit(start.Add(18*time.Second), "hub", "no ticket: a late one that ended at 08:18")
	tk.flush(false)
	if got := out.String(); !strings.Contains(got, "08:20  store   08:20's line\n08:20  hub     no ticket: a late one") {
		t.Errorf("the late line:\n%s", got)
	}
}

// After the day's summary the live table is no longer redrawn: a redraw
// would go back over the summary.
func TestNoRedrawAfterTheSummary(t *testing.T) {
	start := time.Now().Add(-time.Hour)
	var out testenv.Buffer
	tk := newTicker(&out, dayClock{start: start, speed: 60}, &fakeHub{}, start, true, 80)
	tk.narrate(start, "the store opens")
	tk.flush(true)
	if err := tk.summary(); err != nil {
		t.Fatal(err)
	}
	before := out.String()
	tk.narrate(time.Now().Add(-time.Minute), "after the day")
	tk.flush(true)
	after := strings.TrimPrefix(out.String(), before)
	if strings.Contains(after, "\x1b[") || !strings.Contains(after, "after the day") {
		t.Errorf("after the summary:\n%q", after)
	}
}
