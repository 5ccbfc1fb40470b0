package demo

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/store"
)

// The seeded history makes the reports page answer, at a glance, which
// model fails most and when the load comes: the report computed over it (as
// the console computes it) shows the GK420d label printer far ahead, Monday
// the busiest day, and the morning the busiest hours.
func TestSeededHistoryAnswersWhatRetailersAsk(t *testing.T) {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.UTC
	}
	now := time.Date(2026, 12, 7, 8, 0, 30, 0, loc)
	path := filepath.Join(t.TempDir(), "hub.db")
	if err := seedHistory(path, now, loc); err != nil {
		t.Fatal(err)
	}
	st, err := store.OpenBolt(path)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// The console's default period: the 30 days before now.
	r, err := reports.Compute(context.Background(), st, reports.Filter{From: now.Add(-reports.DefaultPeriod), To: now})
	if err != nil {
		t.Fatal(err)
	}
	if r.Totals.Devices != historyStores*10 {
		t.Errorf("%d devices, want %d (10 in each of %d stores)", r.Totals.Devices, historyStores*10, historyStores)
	}
	var worst reports.ModelRow
	for _, m := range r.Models {
		if m.TooLittleExposure || m.Rate == nil {
			t.Errorf("%s: no rate over three months of a chain (%+v)", m.Name(), m)
			continue
		}
		if worst.Rate == nil || *m.Rate > *worst.Rate {
			worst = m
		}
	}
	if worst.Name() != "Zebra GK420d" {
		t.Fatalf("the model that fails most is %s, want Zebra GK420d: %+v", worst.Name(), r.Models)
	}
	for _, m := range r.Models {
		if m.Name() != worst.Name() && m.Rate != nil && *m.Rate*3 > *worst.Rate {
			t.Errorf("%s fails %.2f a month, the GK420d %.2f: not far more often", m.Name(), *m.Rate, *worst.Rate)
		}
	}
	var days [7]int
	var hours [24]int
	for d, hs := range r.WeekdayHour {
		for h, n := range hs {
			days[d] += n
			hours[h] += n
		}
	}
	for d := 1; d < 7; d++ {
		if days[d] >= days[0] {
			t.Errorf("failures by weekday %v: Monday's %d is not clearly the most (%s has %d)", days, days[0], reports.Weekdays[d], days[d])
		}
	}
	busiest := 0
	for h, n := range hours {
		if n > hours[busiest] {
			busiest = h
		}
	}
	if busiest != 8 && busiest != 9 {
		t.Errorf("the busiest hour is %02d:00, want the opening hours (%v)", busiest, hours)
	}
	if hours[3] != 0 || hours[22] != 0 {
		t.Errorf("failures at night in stores that are closed: %v", hours)
	}
	// Tickets too: more open on Mondays.
	var opened [7]int
	for _, inc := range history(historySeed, now, loc).Incidents {
		opened[(int(inc.OpenedAt.In(loc).Weekday())+6)%7]++
	}
	for d := 1; d < 7; d++ {
		if opened[d] >= opened[0] {
			t.Errorf("tickets opened by weekday %v: Monday is not the busiest", opened)
		}
	}
}

func TestHistoryIsTheSameForTheSameSeedAndDay(t *testing.T) {
	now := time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)
	a, b := history(historySeed, now, time.UTC), history(historySeed, now.Add(time.Hour), time.UTC)
	if !reflect.DeepEqual(a, b) {
		t.Error("two runs on the same day made different histories")
	}
	if c := history(historySeed+1, now, time.UTC); reflect.DeepEqual(a.Episodes, c.Episodes) {
		t.Error("another seed made the same history")
	}
	for _, e := range a.Episodes {
		if !e.Start.Add(e.Duration).Before(a.To) || e.Start.Before(a.From) {
			t.Errorf("episode %+v outside the history %v..%v", e, a.From, a.To)
		}
	}
}
