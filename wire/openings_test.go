package wire

import (
	"testing"
	"time"
)

func TestOpeningsMatchOpenSince(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	hours, err := ParseTradingHours(map[string]string{"mon-fri": "08:00-20:00", "sat": "22:00-02:00"})
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 20, 12, 0, 0, 0, berlin) // a Friday, across the DST change
	to := from.Add(30 * 24 * time.Hour)
	ops := hours.Openings(from, to, berlin)
	if len(ops) == 0 || !ops[0].From.Equal(from) {
		t.Fatalf("first opening should start at from (open then): %v", ops)
	}
	for i := 1; i < len(ops); i++ {
		if !ops[i].From.After(ops[i-1].To) {
			t.Fatalf("openings overlap or touch: %v then %v", ops[i-1], ops[i])
		}
	}
	// Every minute agrees with IsOpen.
	for m := from; m.Before(to); m = m.Add(17 * time.Minute) {
		in := false
		for _, o := range ops {
			if !m.Before(o.From) && m.Before(o.To) {
				in = true
			}
		}
		if in != hours.IsOpen(m, berlin) {
			t.Fatalf("at %v Openings says open=%v, IsOpen says %v", m, in, !in)
		}
	}
}

func TestOpeningsAlwaysOpen(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ops := TradingHours(nil).Openings(from, from.Add(time.Hour), time.UTC)
	if len(ops) != 1 || !ops[0].From.Equal(from) || !ops[0].To.Equal(from.Add(time.Hour)) {
		t.Fatalf("always open: %v", ops)
	}
}
