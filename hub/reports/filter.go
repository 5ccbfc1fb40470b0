package reports

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Params are the query parameters a report accepts (API and console).
var Params = []string{"from", "to", "tenant", "store", "top"}

// Limits of a report's filter.
const (
	// MaxPeriod is the longest period: the event log keeps 400 days by
	// default, and a longer period would report on log that is gone.
	MaxPeriod = 400 * 24 * time.Hour
	// DefaultPeriod is the period when from is not given.
	DefaultPeriod = 30 * 24 * time.Hour
	MaxTop        = 100
)

// The event log is keyed by nanoseconds since 1970 as an unsigned number,
// so a period must lie between these.
var (
	earliest = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
	latest   = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// ParseFilter reads a report's filter from a query: from and to as RFC 3339
// times or dates (2026-03-01, midnight UTC; the period runs from <= t < to,
// so to=2026-04-01 ends as April begins), tenant and store ids, top (1 to
// MaxTop). to defaults to now and from to DefaultPeriod before to. Unknown
// or repeated parameters are errors, so a typo is never a report of
// everything.
func ParseFilter(q url.Values, now time.Time) (Filter, error) {
	f := Filter{Now: now}
	for k, v := range q {
		if !slices.Contains(Params, k) {
			return f, fmt.Errorf("unknown query parameter %q (accepted: %s)", k, strings.Join(Params, ", "))
		}
		if len(v) > 1 {
			return f, fmt.Errorf("%s: given %d times", k, len(v))
		}
	}
	var err error
	if f.To, err = instant(q.Get("to")); err != nil {
		return f, fmt.Errorf("to: %v", err)
	}
	if f.From, err = instant(q.Get("from")); err != nil {
		return f, fmt.Errorf("from: %v", err)
	}
	if f.To.IsZero() {
		f.To = now
	}
	if f.From.IsZero() {
		f.From = f.To.Add(-DefaultPeriod)
	}
	switch {
	case !f.To.After(f.From):
		return f, fmt.Errorf("to (%s) must be after from (%s)", f.To.Format(time.RFC3339), f.From.Format(time.RFC3339))
	case f.To.Sub(f.From) > MaxPeriod:
		return f, fmt.Errorf("the period may be at most %d days long", int(MaxPeriod.Hours()/24))
	case f.From.Before(earliest) || f.To.After(latest):
		return f, fmt.Errorf("the period must lie between %d and %d", earliest.Year(), latest.Year())
	}
	for _, p := range []struct {
		name string
		into *string
	}{{"tenant", &f.Tenant}, {"store", &f.Store}} {
		if v := q.Get(p.name); v != "" {
			if err := wire.ValidateSegment(v); err != nil {
				return f, fmt.Errorf("%s: %v", p.name, err)
			}
			*p.into = v
		}
	}
	if v := q.Get("top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxTop {
			return f, fmt.Errorf("top: want a number from 1 to %d", MaxTop)
		}
		f.Top = n
	}
	return f, nil
}

func instant(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q: want a date (2026-03-01) or an RFC 3339 time (2026-03-01T00:00:00Z)", s)
}
