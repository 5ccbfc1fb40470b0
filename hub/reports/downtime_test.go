package reports

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// Episodes of one device merge into failures whatever order they arrive in.
func TestDowntimeMergesOverlappingEpisodes(t *testing.T) {
	base := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h := func(n float64) time.Time { return base.Add(time.Duration(n * float64(time.Hour))) }
	for _, c := range []struct {
		name     string
		episodes [][2]float64 // start, end in hours
		want     string       // the failures, start-end
		within   time.Duration
	}{
		{"apart", [][2]float64{{1, 2}, {3, 4}}, "1-2 3-4", 2 * time.Hour},
		{"overlapping", [][2]float64{{1, 3}, {2, 4}}, "1-4", 3 * time.Hour},
		{"touching: one fault follows another without a moment of health", [][2]float64{{1, 2}, {2, 3}}, "1-3", 2 * time.Hour},
		{"a long one ending last swallows the short ones inside it", [][2]float64{{2, 3}, {4, 5}, {1, 6}}, "1-6", 5 * time.Hour},
		{"bridging two", [][2]float64{{1, 2}, {5, 6}, {1.5, 5.5}}, "1-6", 5 * time.Hour},
		{"out of order", [][2]float64{{7, 8}, {1, 2}, {4, 5}}, "1-2 4-5 7-8", 3 * time.Hour},
		{"begun before the period: only its part inside counts as downtime", [][2]float64{{-1, 1}}, "-1-1", time.Hour},
	} {
		t.Run(c.name, func(t *testing.T) {
			var d downtime
			for _, e := range c.episodes {
				d.add(h(e[0]), h(e[1]))
			}
			var got []string
			for _, s := range d.spans {
				got = append(got, fmt.Sprintf("%v-%v", s.begins().Sub(base).Hours(), s.begins().Add(s.length()).Sub(base).Hours()))
			}
			if strings.Join(got, " ") != c.want {
				t.Errorf("failures %v, want %s", got, c.want)
			}
			if w := d.within(base); w != c.within {
				t.Errorf("downtime from the period's start %v, want %v", w, c.within)
			}
		})
	}
}
