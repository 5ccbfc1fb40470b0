package incident

import (
	"testing"

	"github.com/storewatch/storewatch/wire"
)

func TestImpact(t *testing.T) {
	cases := []struct {
		name            string
		affected, total int
		crit            wire.Criticality
		want            int
	}{
		{"every payment terminal of three", 3, 3, wire.CriticalityCritical, 1},
		{"one payment terminal of three", 1, 3, wire.CriticalityCritical, 2},
		{"the store's only payment terminal", 1, 1, wire.CriticalityCritical, 1},
		{"the only monitored scanner", 1, 1, wire.CriticalityHigh, 2},
		{"every receipt printer of four", 4, 4, wire.CriticalityHigh, 1},
		{"one receipt printer of ten", 1, 10, wire.CriticalityHigh, 3},
		{"half the receipt printers", 5, 10, wire.CriticalityHigh, 2},
		{"the only label printer, normal", 1, 1, wire.CriticalityNormal, 2},
		{"the only cash drawer, low", 1, 1, wire.CriticalityLow, 3},
	}
	for _, c := range cases {
		if got := Impact(c.affected, c.total, c.crit); got != c.want {
			t.Errorf("%s: impact %d, want %d", c.name, got, c.want)
		}
	}
}

func TestPriorityMatrix(t *testing.T) {
	for _, c := range []struct{ impact, urgency, want int }{
		{1, 1, 1}, {1, 2, 2}, {2, 1, 2}, {1, 3, 3}, {2, 2, 3}, {3, 1, 3}, {2, 3, 4}, {3, 2, 4}, {3, 3, 5},
	} {
		if got := Priority(c.impact, c.urgency); got != c.want {
			t.Errorf("Priority(%d, %d) = %d, want %d", c.impact, c.urgency, got, c.want)
		}
	}
}
