package reports

import (
	"slices"
	"sort"
	"time"
)

// span is one stretch of time, start <= t < end, in Unix nanoseconds: a
// year of a large fleet holds millions of them, and two int64 are a third
// of two time.Time.
type span struct{ start, end int64 }

// downtime is the union of one device's fault episodes: overlapping or
// touching episodes (a paper jam while the cover is open, or one fault
// following another without a moment of health) merge into one failure.
// The log delivers episodes by end time, but a long episode may end after
// shorter ones it contains, so spans are merged on insertion in any order.
type downtime struct {
	spans []span // sorted, disjoint, not touching
}

func (d *downtime) add(from, to time.Time) {
	start, end := min(from.UnixNano(), to.UnixNano()), max(from.UnixNano(), to.UnixNano())
	// spans[i:j] are those the new one overlaps or touches.
	i := sort.Search(len(d.spans), func(k int) bool { return d.spans[k].end >= start })
	j := sort.Search(len(d.spans), func(k int) bool { return d.spans[k].start > end })
	if i == j {
		d.spans = slices.Insert(d.spans, i, span{start, end})
		return
	}
	d.spans = slices.Replace(d.spans, i, j, span{min(start, d.spans[i].start), max(end, d.spans[j-1].end)})
}

// within is the downtime at or after from.
func (d *downtime) within(from time.Time) time.Duration {
	var sum int64
	for _, s := range d.spans {
		sum += max(0, s.end-max(s.start, from.UnixNano()))
	}
	return time.Duration(sum)
}

func (s span) length() time.Duration { return time.Duration(s.end - s.start) }

func (s span) begins() time.Time { return time.Unix(0, s.start) }
