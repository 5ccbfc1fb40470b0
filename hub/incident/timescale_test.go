package incident

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func TestTimeScaleSaysStoreTime(t *testing.T) {
	origin := time.Date(2026, 12, 7, 7, 18, 30, 0, time.UTC)
	opening := time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC)
	demo := TimeScale{Origin: origin, StoreOrigin: opening, Speed: 60}
	for _, c := range []struct {
		name string
		s    TimeScale
		in   time.Time
		want time.Time
	}{
		{"a real hub: as it is", TimeScale{}, origin.Add(time.Minute), origin.Add(time.Minute)},
		{"speed 1: as it is", TimeScale{Origin: origin, Speed: 1}, origin.Add(time.Minute), origin.Add(time.Minute)},
		{"the demo's start is the opening", demo, origin, opening},
		{"30 real seconds later: half a store hour", demo, origin.Add(30 * time.Second), opening.Add(30 * time.Minute)},
		{"the history before the demo: as it is", demo, origin.Add(-48 * time.Hour), origin.Add(-48 * time.Hour)},
		{"zero stays zero", demo, time.Time{}, time.Time{}},
	} {
		if got := c.s.At(c.in); !got.Equal(c.want) {
			t.Errorf("%s: At(%v) = %v, want %v", c.name, c.in, got, c.want)
		}
	}
	if got := demo.Dur(2500 * time.Millisecond); got != 150*time.Second {
		t.Errorf("Dur(2.5s) = %v, want 2m30s", got)
	}
	if got := demo.Lasted(origin.Add(-time.Hour), 5*time.Minute); got != 5*time.Minute {
		t.Errorf("a history episode's length was scaled: %v", got)
	}
	if got := Human(3 * time.Minute); got != "3m" {
		t.Errorf("Human(3m) = %q", got)
	}
}

// The engine's timeline entries name their sentence and its words, so the
// console can say them in another language; the English text stays.
func TestStoryTimelineEntriesNameTheirSentence(t *testing.T) {
	w := newWorld(t, tuesday10, tradingHours, printer("receipt-lane3", "lane 3"))
	inc := w.fail("receipt-lane3", wire.FaultPaperOut, 3*time.Minute)
	w.report("receipt-lane3")
	w.advance(3 * time.Minute)
	for _, c := range []struct {
		kind EntryKind
		say  string
		args []string
	}{
		{EntryOpened, SayOpened, []string{"fault", "since", "hold_down", "priority"}},
		{EntryNotification, SayNotified, []string{"notification"}},
		{EntryState, SayRecovered, []string{"fault", "cleared", "hold_up"}},
	} {
		es := w.timeline(inc.ID, c.kind)
		if len(es) == 0 {
			t.Errorf("no %s entry", c.kind)
			continue
		}
		e := es[0]
		if e.Say != c.say || e.Text == "" {
			t.Errorf("%s entry: say %q, text %q; want say %q and the English text", c.kind, e.Say, e.Text, c.say)
		}
		for _, a := range c.args {
			if e.Args[a] == "" {
				t.Errorf("%s entry lacks %s: %v", c.kind, a, e.Args)
			}
		}
	}
	if got := w.timeline(inc.ID, EntryOpened)[0].Args["hold_down"]; got != "2m" {
		t.Errorf("hold-down said as %q, want 2m (not 2m0s)", got)
	}
}
