package wire

import "time"

// Opening is one concrete opening of a store: [From, To).
type Opening struct {
	From time.Time
	To   time.Time
}

// Openings lists the concrete openings that overlap [from, to), in time
// order, with touching or overlapping spans merged into one (a store open
// sun 00:00-24:00 and mon 00:00-24:00 is one opening). An empty schedule is
// always open: it returns the single opening [from, to). The hub uses it to
// find when a closed store opens next and to count contract hours.
func (h TradingHours) Openings(from, to time.Time, loc *time.Location) []Opening {
	if !to.After(from) {
		return nil
	}
	if len(h) == 0 {
		return []Opening{{from, to}}
	}
	if loc == nil {
		loc = time.UTC
	}
	var out []Opening
	// intervals(t) covers the local days t-8d .. t+1d; step a week at a time.
	for t := from; ; t = t.Add(7 * 24 * time.Hour) {
		for _, iv := range h.intervals(t, loc) {
			if !iv.to.After(from) || !iv.from.Before(to) {
				continue
			}
			if n := len(out); n > 0 && !iv.from.After(out[n-1].To) {
				if iv.to.After(out[n-1].To) {
					out[n-1].To = iv.to
				}
				continue
			}
			if n := len(out); n > 0 && iv.from.Before(out[n-1].From) {
				continue // already covered by an earlier step
			}
			out = append(out, Opening{iv.from, iv.to})
		}
		if !t.Add(24 * time.Hour).Before(to) {
			break
		}
	}
	for i := range out {
		if out[i].From.Before(from) {
			out[i].From = from
		}
		if out[i].To.After(to) {
			out[i].To = to
		}
	}
	return out
}
