package demo

import (
	"context"
	"fmt"
	"time"
)

// opening is the store time at which the demo starts: the store opens.
const opening = 8 * time.Hour

// dayClock maps real time onto the compressed store day: start is 08:00,
// and every real second is speed seconds of the day.
type dayClock struct {
	start time.Time
	speed float64
}

// compress turns a duration of the store day into real time.
func (c dayClock) compress(d time.Duration) time.Duration {
	return time.Duration(float64(d) / c.speed)
}

// story returns how far into the day (after opening) real time t is, by
// the wall clock. Times read back from the hub's store carry no monotonic
// reading and time.Now() does: Go compares a mixed pair by the wall clock
// and a pair of readings by the monotonic one, so a wall clock adjusted by a
// few milliseconds mid-day could put a line stamped later under an earlier
// store minute (at 120x, 17 ms of real time is two store seconds).
func (c dayClock) story(t time.Time) time.Duration {
	return time.Duration(float64(t.Round(0).Sub(c.start.Round(0))) * c.speed)
}

// label is the store time of real time t, "08:17".
func (c dayClock) label(t time.Time) string {
	return clockLabel(opening + max(c.story(t), 0))
}

func clockLabel(d time.Duration) string {
	m := int(d / time.Minute)
	return fmt.Sprintf("%02d:%02d", m/60%24, m%60)
}

// sleepUntil waits until the day has reached offset (after opening).
func (c dayClock) sleepUntil(ctx context.Context, offset time.Duration) error {
	d := time.Until(c.start.Add(c.compress(offset)))
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// storeZones are the candidate locations of the virtual store, Europe
// first (ZVT terminals are a German-speaking-countries thing). The demo picks
// one where it is eight in the morning now, so tickets carry morning times.
var storeZones = []struct{ zone, city, country string }{
	{"Europe/Berlin", "Berlin", "DE"}, {"Europe/London", "London", "GB"}, {"Europe/Athens", "Athens", "GR"},
	{"Europe/Istanbul", "Istanbul", "TR"}, {"Atlantic/Azores", "Ponta Delgada", "PT"}, {"Asia/Dubai", "Dubai", "AE"},
	{"Asia/Karachi", "Karachi", "PK"}, {"Asia/Dhaka", "Dhaka", "BD"}, {"Asia/Bangkok", "Bangkok", "TH"},
	{"Asia/Shanghai", "Shanghai", "CN"}, {"Asia/Tokyo", "Tokyo", "JP"}, {"Australia/Brisbane", "Brisbane", "AU"},
	{"Pacific/Noumea", "Nouméa", "NC"}, {"Pacific/Fiji", "Suva", "FJ"}, {"Pacific/Auckland", "Auckland", "NZ"}, {"Pacific/Tongatapu", "Nukuʻalofa", "TO"},
	{"Pacific/Kiritimati", "Kiritimati", "KI"}, {"Pacific/Pago_Pago", "Pago Pago", "AS"}, {"Pacific/Honolulu", "Honolulu", "US"},
	{"America/Anchorage", "Anchorage", "US"}, {"America/Los_Angeles", "Los Angeles", "US"}, {"America/Denver", "Denver", "US"},
	{"America/Chicago", "Chicago", "US"}, {"America/New_York", "New York", "US"}, {"America/Halifax", "Halifax", "CA"},
	{"America/Sao_Paulo", "São Paulo", "BR"}, {"Atlantic/South_Georgia", "King Edward Point", "GS"}, {"Atlantic/Cape_Verde", "Praia", "CV"},
}

// site is where the virtual store is and when it opened.
type site struct {
	zone, city, country string
	loc                 *time.Location
	opened              time.Time // the start of the minute the demo started in, store time
}

// pickSite chooses a time zone where it is between 08:00 and 09:00 at now,
// and opens the store at the start of now's minute. Without time zone data
// the store is in UTC.
func pickSite(now time.Time) site {
	for _, z := range storeZones {
		loc, err := time.LoadLocation(z.zone)
		if err == nil && now.In(loc).Hour() == 8 {
			return site{zone: z.zone, city: z.city, country: z.country, loc: loc, opened: now.In(loc).Truncate(time.Minute)}
		}
	}
	return site{zone: "UTC", city: "Greenwich", country: "GB", loc: time.UTC, opened: now.UTC().Truncate(time.Minute)}
}

// hours is the store's trading hours in the agent's notation: every day from
// the opening minute for fourteen hours, which covers the whole scripted day
// even at --speed 1.
func (s site) hours() map[string]string {
	closing := s.opened.Add(14 * time.Hour)
	return map[string]string{"mon-sun": s.opened.Format("15:04") + "-" + closing.Format("15:04")}
}
