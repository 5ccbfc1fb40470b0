package wire

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OpenSpan is one opening of a store on one weekday, in the store's local
// time. Close may be "24:00", or earlier than Open for a store that closes
// after midnight (then the span ends on the next day).
type OpenSpan struct {
	Day   string `json:"day"`   // mon, tue, wed, thu, fri, sat, sun
	Open  string `json:"open"`  // "08:00"
	Close string `json:"close"` // "20:00"
}

// TradingHours is a store's weekly opening schedule. An empty schedule means
// the store never closes.
type TradingHours []OpenSpan

var dayNames = []string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

func parseDay(s string) (time.Weekday, error) {
	for i, n := range dayNames {
		if strings.EqualFold(s, n) {
			return time.Weekday(i), nil
		}
	}
	return 0, fmt.Errorf("unknown day %q (want mon, tue, wed, thu, fri, sat or sun)", s)
}

// parseClock parses "HH:MM" into minutes after midnight; "24:00" is allowed.
func parseClock(s string) (int, error) {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) != 2 || len(m) != 2 {
		return 0, fmt.Errorf("time %q: want HH:MM", s)
	}
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if err1 != nil || err2 != nil || hh < 0 || mm < 0 || mm > 59 || hh > 24 || (hh == 24 && mm != 0) {
		return 0, fmt.Errorf("time %q: want HH:MM between 00:00 and 24:00", s)
	}
	return hh*60 + mm, nil
}

// ParseTradingHours reads the config notation: keys are a day ("sat") or a
// range of days ("mon-fri"), values are "08:00-20:00" or "closed". Days not
// named are closed. An empty map means always open.
func ParseTradingHours(spec map[string]string) (TradingHours, error) {
	var out TradingHours
	keys := make([]string, 0, len(spec))
	for k := range spec {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	seen := map[time.Weekday]string{}
	for _, k := range keys {
		v := strings.TrimSpace(spec[k])
		days, err := parseDayRange(k)
		if err != nil {
			return nil, err
		}
		for _, d := range days {
			if prev, dup := seen[d]; dup {
				return nil, fmt.Errorf("%s: %s is already given by %q", k, dayNames[d], prev)
			}
			seen[d] = k
		}
		if strings.EqualFold(v, "closed") {
			continue
		}
		open, closing, ok := strings.Cut(v, "-")
		if !ok {
			return nil, fmt.Errorf("%s: %q: want \"HH:MM-HH:MM\" or \"closed\"", k, v)
		}
		span := OpenSpan{Open: strings.TrimSpace(open), Close: strings.TrimSpace(closing)}
		for _, d := range days {
			span.Day = dayNames[d]
			if err := span.validate(); err != nil {
				return nil, fmt.Errorf("%s: %w", k, err)
			}
			out = append(out, span)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		di, _ := parseDay(out[i].Day)
		dj, _ := parseDay(out[j].Day)
		return di < dj
	})
	return out, nil
}

func parseDayRange(k string) ([]time.Weekday, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(k), "-")
	a, err := parseDay(from)
	if err != nil {
		return nil, err
	}
	if !isRange {
		return []time.Weekday{a}, nil
	}
	b, err := parseDay(to)
	if err != nil {
		return nil, err
	}
	var days []time.Weekday
	for d := a; ; d = (d + 1) % 7 {
		days = append(days, d)
		if d == b {
			break
		}
	}
	return days, nil
}

func (s OpenSpan) validate() error {
	if _, err := parseDay(s.Day); err != nil {
		return err
	}
	o, err := parseClock(s.Open)
	if err != nil {
		return err
	}
	c, err := parseClock(s.Close)
	if err != nil {
		return err
	}
	if o == c {
		return fmt.Errorf("%s-%s: opening and closing time are the same", s.Open, s.Close)
	}
	if o == 24*60 {
		return fmt.Errorf("%s: a store cannot open at 24:00", s.Open)
	}
	return nil
}

// Validate checks every span.
func (h TradingHours) Validate() error {
	for i, s := range h {
		if err := s.validate(); err != nil {
			return fmt.Errorf("hours[%d]: %w", i, err)
		}
	}
	return nil
}

// interval is one concrete opening, [from, to).
type interval struct{ from, to time.Time }

// intervals lists the concrete openings that start on the local days from
// t-8 days to t+1 day, in order.
func (h TradingHours) intervals(t time.Time, loc *time.Location) []interval {
	lt := t.In(loc)
	var out []interval
	for back := 8; back >= -1; back-- {
		day := time.Date(lt.Year(), lt.Month(), lt.Day()-back, 0, 0, 0, 0, loc)
		for _, s := range h {
			d, err := parseDay(s.Day)
			if err != nil || d != day.Weekday() {
				continue
			}
			o, err1 := parseClock(s.Open)
			c, err2 := parseClock(s.Close)
			if err1 != nil || err2 != nil {
				continue
			}
			from := time.Date(day.Year(), day.Month(), day.Day(), 0, o, 0, 0, loc)
			end := day
			if c <= o {
				end = day.AddDate(0, 0, 1)
			}
			to := time.Date(end.Year(), end.Month(), end.Day(), 0, c, 0, 0, loc)
			out = append(out, interval{from, to})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].from.Before(out[j].from) })
	return out
}

// OpenSince reports whether the store is open at t and, if so, since when it
// has been open without a break. Spans that touch (sun 00:00-24:00 then
// mon 00:00-24:00) count as one opening. A store with no schedule is always
// open and returns the zero time, as does one open for a whole week.
func (h TradingHours) OpenSince(t time.Time, loc *time.Location) (since time.Time, open bool) {
	if len(h) == 0 {
		return time.Time{}, true
	}
	if loc == nil {
		loc = time.UTC
	}
	iv := h.intervals(t, loc)
	for i := len(iv) - 1; i >= 0; i-- {
		if iv[i].from.After(t) || !iv[i].to.After(t) {
			continue
		}
		since = iv[i].from
		for j := i - 1; j >= 0; j-- {
			if iv[j].to.Before(since) {
				break
			}
			if iv[j].from.Before(since) {
				since = iv[j].from
			}
		}
		if t.Sub(since) >= 7*24*time.Hour {
			return time.Time{}, true
		}
		return since, true
	}
	return time.Time{}, false
}

// IsOpen reports whether the store is open at t.
func (h TradingHours) IsOpen(t time.Time, loc *time.Location) bool {
	_, open := h.OpenSince(t, loc)
	return open
}
