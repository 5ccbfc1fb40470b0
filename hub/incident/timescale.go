package incident

import "time"

// TimeScale maps the hub's real clock onto the time a store lives in when
// the two differ: the demo runs a store day Speed times faster than the
// clock from Origin on (store time StoreOrigin then), with every duration of
// the policy divided by Speed. What people read (timeline texts, the
// console's times and durations) is then said in store time, so "hold-down
// 3m" and "since 08:18" mean the store's minutes, as the demo's own output
// does. Instants before Origin (a history the hub had before) stay as they
// are. The zero TimeScale (any Speed at or below 1) is the identity: a real
// hub's store time is the clock's.
type TimeScale struct {
	Origin      time.Time // the real instant store time starts to run compressed
	StoreOrigin time.Time // the store time at Origin; zero: Origin
	Speed       float64   // store seconds per real second
}

func (s TimeScale) on() bool { return s.Speed > 1 && !s.Origin.IsZero() }

// Dur is the store-time length of a real duration.
func (s TimeScale) Dur(d time.Duration) time.Duration {
	if !s.on() {
		return d
	}
	return time.Duration(float64(d) * s.Speed).Round(time.Second)
}

// Lasted is the store-time length of a real duration that ended at end:
// compressed only if it ended after Origin.
func (s TimeScale) Lasted(end time.Time, d time.Duration) time.Duration {
	if !s.on() || end.Before(s.Origin) {
		return d
	}
	return s.Dur(d)
}

// At is the store-time instant of a real one (zero stays zero, and so does
// anything before Origin).
func (s TimeScale) At(t time.Time) time.Time {
	if !s.on() || t.IsZero() || t.Before(s.Origin) {
		return t
	}
	base := s.StoreOrigin
	if base.IsZero() {
		base = s.Origin
	}
	return base.Add(s.Dur(t.Sub(s.Origin))).In(t.Location())
}

// Zone is a store's time zone by name: UTC when it has none, or one this
// system does not know (as the engine does).
func Zone(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if name == "" || err != nil {
		return time.UTC
	}
	return loc
}
