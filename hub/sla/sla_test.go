package sla

import (
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func TestCalendarAdd(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	nyc, _ := time.LoadLocation("America/New_York")
	weekdays, _ := wire.ParseTradingHours(map[string]string{"mon-fri": "08:00-18:00"})
	at := func(loc *time.Location, s string) time.Time {
		t.Helper()
		v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	cases := []struct {
		name  string
		cal   Calendar
		start time.Time
		d     time.Duration
		want  time.Time
	}{
		{"24x7 is plain addition", AlwaysOn, at(berlin, "2026-11-20 17:00"), 4 * time.Hour, at(berlin, "2026-11-20 21:00")},
		{"inside working hours", Calendar{Hours: weekdays}, at(berlin, "2026-11-20 09:00"), 4 * time.Hour, at(berlin, "2026-11-20 13:00")},
		{"Friday evening runs on into Monday", Calendar{Hours: weekdays}, at(berlin, "2026-11-20 16:00"), 4 * time.Hour, at(berlin, "2026-11-23 10:00")},
		{"opened at night starts at eight", Calendar{Hours: weekdays}, at(berlin, "2026-11-24 02:00"), time.Hour, at(berlin, "2026-11-24 09:00")},
		{"a holiday stops the clock", Calendar{Hours: weekdays, Holidays: []string{"2026-12-24", "2026-12-25"}}, at(berlin, "2026-12-23 17:00"), 2 * time.Hour, at(berlin, "2026-12-28 09:00")},
		{"the calendar's own zone wins", Calendar{Hours: weekdays, Location: nyc}, at(nyc, "2026-11-20 17:00"), 2 * time.Hour, at(nyc, "2026-11-23 09:00")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.cal.Add(c.start, c.d, berlin)
			if err != nil {
				t.Fatal(err)
			}
			if !got.Equal(c.want) {
				t.Errorf("Add(%v, %v) = %v, want %v", c.start, c.d, got.In(berlin), c.want.In(berlin))
			}
		})
	}
}

func TestCalendarWithoutWorkingTimeFails(t *testing.T) {
	h, _ := wire.ParseTradingHours(map[string]string{"mon": "08:00-09:00"})
	var days []string
	for d := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); d.Year() < 2028; d = d.AddDate(0, 0, 1) {
		days = append(days, d.Format(time.DateOnly))
	}
	if _, err := (Calendar{Name: "never", Hours: h, Holidays: days}).Add(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), time.Hour, time.UTC); err == nil {
		t.Fatal("a calendar that never works gave a due time")
	}
}

func TestDefaultTargetsOrder(t *testing.T) {
	ts := DefaultTargets()
	start := time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)
	var last time.Time
	for p := 1; p <= 5; p++ {
		_, res, err := ts.Due(p, start, time.UTC)
		if err != nil {
			t.Fatal(err)
		}
		if !res.After(last) {
			t.Errorf("P%d resolution due %v is not later than P%d's %v", p, res, p-1, last)
		}
		last = res
	}
}
