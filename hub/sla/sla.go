package sla

import (
	"fmt"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Calendar is when the contract's clock runs.
type Calendar struct {
	Name string
	// Hours are the working hours per weekday; empty means around the clock.
	Hours wire.TradingHours
	// Location is the calendar's own time zone; nil means the store's.
	Location *time.Location
	// Holidays are local dates ("2026-12-25") on which the clock stops.
	Holidays []string
}

// AlwaysOn is the 24x7 calendar.
var AlwaysOn = Calendar{Name: "24x7"}

// maxSpan bounds the search for working time, so a calendar with no working
// hours at all (every day a holiday) cannot loop for ever.
const maxSpan = 400 * 24 * time.Hour

// Add returns the moment when d of working time has passed after start.
// storeLoc is used when the calendar has no zone of its own.
func (c Calendar) Add(start time.Time, d time.Duration, storeLoc *time.Location) (time.Time, error) {
	if d <= 0 {
		return start, nil
	}
	loc := c.Location
	if loc == nil {
		loc = storeLoc
	}
	if loc == nil {
		loc = time.UTC
	}
	holidays := map[string]bool{}
	for _, h := range c.Holidays {
		holidays[h] = true
	}
	left := d
	from := start
	for from.Sub(start) < maxSpan {
		to := from.Add(14 * 24 * time.Hour)
		for _, o := range c.Hours.Openings(from, to, loc) {
			for _, w := range splitHolidays(o, loc, holidays) {
				span := w.To.Sub(w.From)
				if span >= left {
					return w.From.Add(left), nil
				}
				left -= span
			}
		}
		from = to
	}
	return time.Time{}, fmt.Errorf("sla: calendar %q has no working time within %v of %v", c.Name, maxSpan, start)
}

// splitHolidays removes the local holiday dates from an opening.
func splitHolidays(o wire.Opening, loc *time.Location, holidays map[string]bool) []wire.Opening {
	if len(holidays) == 0 {
		return []wire.Opening{o}
	}
	var out []wire.Opening
	cur := o.From
	for cur.Before(o.To) {
		lt := cur.In(loc)
		next := time.Date(lt.Year(), lt.Month(), lt.Day()+1, 0, 0, 0, 0, loc)
		if next.After(o.To) {
			next = o.To
		}
		if !holidays[lt.Format(time.DateOnly)] {
			if n := len(out); n > 0 && out[n-1].To.Equal(cur) {
				out[n-1].To = next
			} else {
				out = append(out, wire.Opening{From: cur, To: next})
			}
		}
		cur = next
	}
	return out
}

// Target is the pair of clocks for one priority.
type Target struct {
	Response   time.Duration
	Resolution time.Duration
	Calendar   Calendar
}

// Targets maps priority 1 (critical) .. 5 (planning) to its target.
type Targets map[int]Target

// Due returns the response and resolution due times of a ticket of priority p
// opened at t in a store in storeLoc. A priority without a target has none.
func (ts Targets) Due(p int, t time.Time, storeLoc *time.Location) (response, resolution time.Time, err error) {
	tg, ok := ts[p]
	if !ok {
		return time.Time{}, time.Time{}, nil
	}
	if response, err = tg.Calendar.Add(t, tg.Response, storeLoc); err != nil {
		return
	}
	resolution, err = tg.Calendar.Add(t, tg.Resolution, storeLoc)
	return
}

// BusinessHours is the default contract calendar: Monday to Saturday,
// 08:00 to 18:00 in the store's time zone.
func BusinessHours() Calendar {
	h, err := wire.ParseTradingHours(map[string]string{"mon-sat": "08:00-18:00"})
	if err != nil {
		panic(err)
	}
	return Calendar{Name: "business", Hours: h}
}

// DefaultTargets are typical retail support targets (response / resolution):
// P1 15m / 4h around the clock; P2 1h / 8h, P3 4h / 16h, P4 8h / 40h and
// P5 16h / 80h in business hours.
func DefaultTargets() Targets {
	b := BusinessHours()
	return Targets{
		1: {15 * time.Minute, 4 * time.Hour, AlwaysOn},
		2: {time.Hour, 8 * time.Hour, b},
		3: {4 * time.Hour, 16 * time.Hour, b},
		4: {8 * time.Hour, 40 * time.Hour, b},
		5: {16 * time.Hour, 80 * time.Hour, b},
	}
}
