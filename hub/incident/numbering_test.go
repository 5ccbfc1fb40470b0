package incident

import "testing"

func TestNumbering(t *testing.T) {
	for _, tc := range []struct {
		n          Numbering
		last, want uint64
	}{
		{Numbering{}, 41, 42},
		{Numbering{Stride: 1}, 41, 42},
		{Numbering{Stride: 6, Offset: 0}, 41, 42},
		{Numbering{Stride: 6, Offset: 1}, 41, 43},
		{Numbering{Stride: 6, Offset: 5}, 41, 41 + 6},
		{Numbering{Stride: 6, Offset: 5}, 0, 5},
		{Numbering{Stride: 6, Offset: 0}, 0, 6},
		{Numbering{Stride: 6, Offset: 3}, 3, 9},
	} {
		if got := tc.n.next(tc.last); got != tc.want {
			t.Errorf("%+v after %d: %d, want %d", tc.n, tc.last, got, tc.want)
		}
	}
	// Engines of different partitions never share a number, whatever the
	// highest number each restarted from.
	seen := map[uint64]uint64{}
	for off := range uint64(6) {
		n, last := Numbering{Stride: 6, Offset: off}, off*7
		for range 100 {
			last = n.next(last)
			if other, dup := seen[last]; dup {
				t.Fatalf("number %d handed out by partitions %d and %d", last, other, off)
			}
			seen[last] = off
		}
	}
}
