package reports

import (
	"slices"
	"sort"
	"time"
)

// span is one stretch of time, start <= t < end.
type span struct{ start, end time.Time }

// downtime is the union of one device's fault episodes: overlapping or
// touching episodes (a paper jam while the cover is open, or one fault
// following another without a moment of health) merge into one failure.
// The log delivers episodes by end time, but a long episode may end after
// shorter ones it contains, so spans are merged on insertion in any order.
type downtime struct {
	spans []span // sorted, disjoint, not touching
}

func (d *downtime) add(start, end time.Time) {
	if end.Before(start) {
		start, end = end, start
	}
	// spans[i:j] are those the new one overlaps or touches.
	i := sort.Search(len(d.spans), func(k int) bool { return !d.spans[k].end.Before(start) })
	j := sort.Search(len(d.spans), func(k int) bool { return d.spans[k].start.After(end) })
	if i == j {
		d.spans = slices.Insert(d.spans, i, span{start, end})
		return
	}
	merged := span{start, end}
	if d.spans[i].start.Before(merged.start) {
		merged.start = d.spans[i].start
	}
	if d.spans[j-1].end.After(merged.end) {
		merged.end = d.spans[j-1].end
	}
	d.spans = slices.Replace(d.spans, i, j, merged)
}

// within is the downtime at or after from.
func (d *downtime) within(from time.Time) time.Duration {
	var sum time.Duration
	for _, s := range d.spans {
		if s.start.Before(from) {
			s.start = from
		}
		if s.end.After(s.start) {
			sum += s.end.Sub(s.start)
		}
	}
	return sum
}
