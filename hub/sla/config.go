package sla

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/config"
	"github.com/storewatch/storewatch/wire"
)

// Config is the sla: section of the hub's configuration: working-time
// calendars and the targets per priority.
type Config struct {
	Calendars  map[string]CalendarConfig `yaml:"calendars" doc:"Named working-time calendars; 24x7 and business exist unless redefined"`
	Priorities map[string]TargetConfig   `yaml:"priorities" doc:"Targets for P1..P5"`
}

// CalendarConfig is a working-time calendar.
type CalendarConfig struct {
	Hours    map[string]string `yaml:"hours" doc:"Working hours, e.g. mon-fri: 08:00-18:00; empty means around the clock"`
	TimeZone string            `yaml:"timezone" doc:"IANA zone; empty means the store's own"`
	Holidays []string          `yaml:"holidays" doc:"Dates (YYYY-MM-DD) on which the clock stops"`
}

// TargetConfig is one priority's targets.
type TargetConfig struct {
	Response   time.Duration `yaml:"response" required:"true"`
	Resolution time.Duration `yaml:"resolution" required:"true"`
	Calendar   string        `yaml:"calendar" doc:"Name of a calendar (default business; 24x7 for P1)"`
}

// The calendars that exist without being configured.
const (
	Calendar24x7     = "24x7"
	CalendarBusiness = "business"
)

// Validate reports every mistake, with paths relative to the section.
func (c *Config) Validate() config.Errors {
	var errs config.Errors
	bad := func(path, format string, args ...any) {
		errs = append(errs, config.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
	}
	for name, cal := range c.Calendars {
		p := "calendars." + name
		if _, err := wire.ParseTradingHours(cal.Hours); err != nil {
			bad(p+".hours", "%v", err)
		}
		if cal.TimeZone != "" {
			if _, err := time.LoadLocation(cal.TimeZone); err != nil {
				bad(p+".timezone", "%q is not a known time zone", cal.TimeZone)
			}
		}
		for i, d := range cal.Holidays {
			if _, err := time.Parse(time.DateOnly, d); err != nil {
				bad(fmt.Sprintf("%s.holidays[%d]", p, i), "%q is not a date like 2026-12-25", d)
			}
		}
	}
	for key, tg := range c.Priorities {
		p := "priorities." + key
		if _, err := ParsePriority(key); err != nil {
			bad(p, "%v", err)
		}
		if tg.Response <= 0 || tg.Resolution <= 0 {
			bad(p, "response and resolution must be positive durations")
		} else if tg.Resolution < tg.Response {
			bad(p+".resolution", "is shorter than the response target")
		}
		if tg.Calendar != "" && tg.Calendar != Calendar24x7 && tg.Calendar != CalendarBusiness {
			if _, ok := c.Calendars[tg.Calendar]; !ok {
				bad(p+".calendar", "no calendar %q in sla.calendars", tg.Calendar)
			}
		}
	}
	return errs
}

// Targets turns the section into targets per priority, over the default
// ones.
func (c Config) Targets() (Targets, error) {
	cals := map[string]Calendar{Calendar24x7: AlwaysOn, CalendarBusiness: BusinessHours()}
	for name, cc := range c.Calendars {
		h, err := wire.ParseTradingHours(cc.Hours)
		if err != nil {
			return nil, fmt.Errorf("sla calendar %s: %w", name, err)
		}
		cal := Calendar{Name: name, Hours: h, Holidays: cc.Holidays}
		if cc.TimeZone != "" {
			if cal.Location, err = time.LoadLocation(cc.TimeZone); err != nil {
				return nil, fmt.Errorf("sla calendar %s: %w", name, err)
			}
		}
		cals[name] = cal
	}
	ts := DefaultTargets()
	for key, tc := range c.Priorities {
		p, err := ParsePriority(key)
		if err != nil {
			return nil, err
		}
		name := tc.Calendar
		if name == "" {
			name = CalendarBusiness
		}
		cal, ok := cals[name]
		if !ok {
			return nil, fmt.Errorf("sla priority %s: no calendar %q", key, name)
		}
		ts[p] = Target{Response: tc.Response, Resolution: tc.Resolution, Calendar: cal}
	}
	return ts, nil
}

// ParsePriority reads "P1".."P5" or "1".."5".
func ParsePriority(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToUpper(strings.TrimSpace(s)), "P"))
	if err != nil || n < 1 || n > 5 {
		return 0, fmt.Errorf("priority %q: want P1 to P5", s)
	}
	return n, nil
}
