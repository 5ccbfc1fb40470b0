package reports

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// DeviceMonth is the unit of installed base: 30 days of one installed
// device. A fixed length (not a calendar month) makes periods of any length
// comparable: ten devices installed through a 30-day period are 10
// device-months, through February 9.33.
const DeviceMonth = 30 * 24 * time.Hour

// MinDeviceMonths is the least installed base a failure rate (and an MTBF)
// is shown for: below it, one failure in a few hours of a new device would
// read as thousands of failures per device-month. Such a row says "not yet
// meaningful" instead (Rate and MTBFHours nil, TooLittleExposure set).
// A quarter of a device-month is one device for 7.5 days.
const MinDeviceMonths = 0.25

// DefaultTop is how many chronic devices a report lists by default.
const DefaultTop = 10

// Source is what a report reads; store.Store provides it.
type Source interface {
	ScanLog(from, to time.Time, kinds []incident.LogKind, fn func(incident.LogEntry) error) error
	ScanInstalls(tenant, store string, fn func(store.Install) error) error
	Stores() ([]incident.StoreRecord, error)
	Incident(id string) (incident.Incident, error)
}

// Filter selects what a report covers.
type Filter struct {
	Tenant string    `json:"tenant,omitempty"` // "": every tenant
	Store  string    `json:"store,omitempty"`  // "": every store
	From   time.Time `json:"from"`             // the period is From <= t < To
	To     time.Time `json:"to"`
	// Now is when the report is made: an SLA target not yet reached and not
	// yet due at Now is pending. Zero: To.
	Now time.Time `json:"now"`
	Top int       `json:"top"` // chronic devices listed; 0: DefaultTop
}

// Report is every table of one filter.
type Report struct {
	Filter Filter `json:"filter"`
	Totals Totals `json:"totals"`
	// Models: failures per device-month, MTBF and MTTR by vendor and model.
	Models []ModelRow `json:"models"`
	// Vendors: the same figures summed over each vendor's models.
	Vendors []ModelRow `json:"vendors"`
	// WeekdayHour counts failures by the store-local weekday (0 Monday .. 6
	// Sunday) and hour (0..23) in which they began.
	WeekdayHour [7][24]int `json:"weekday_hour"`
	// SLA: one row per priority P1..P5.
	SLA []SLARow `json:"sla"`
	// Chronic: the devices with the most chronic-problem incidents and
	// failures, most first.
	Chronic []DeviceRow `json:"chronic"`
	// SelfResolved: how incidents ended, overall and per fault code.
	SelfResolved SelfResolved `json:"self_resolved"`
}

// Totals sums the whole report.
type Totals struct {
	Devices       int     `json:"devices"`
	DeviceMonths  float64 `json:"device_months"`
	Failures      int     `json:"failures"`
	DowntimeHours float64 `json:"downtime_hours"`
	// Rate is failures per device-month; nil without installed devices
	// or with fewer than MinDeviceMonths of them.
	Rate      *float64 `json:"failures_per_device_month"`
	MTTRHours *float64 `json:"mttr_hours"`
	Incidents int      `json:"incidents"` // opened in the period, every kind
	// TooLittleExposure: devices were installed, but for fewer than
	// MinDeviceMonths, so Rate is not given.
	TooLittleExposure bool `json:"too_little_exposure,omitempty"`
}

// ModelRow is one vendor and model (or one vendor, Model empty).
type ModelRow struct {
	Vendor string `json:"vendor"`
	Model  string `json:"model"`
	Kind   string `json:"kind,omitempty"`
	// Devices installed at some time in the period, each counted once:
	// under the model it was last seen as.
	Devices        int     `json:"devices"`
	InstalledHours float64 `json:"installed_hours"`
	DeviceMonths   float64 `json:"device_months"`
	Failures       int     `json:"failures"`
	// Rate is failures per device-month; nil without installed time or
	// with less than MinDeviceMonths of it (TooLittleExposure).
	Rate *float64 `json:"failures_per_device_month"`
	// DowntimeHours is the time within the period the devices were failed.
	DowntimeHours  float64 `json:"downtime_hours"`
	OperatingHours float64 `json:"operating_hours"`
	// MTBFHours is operating hours per failure; nil without failures or
	// with too little exposure.
	MTBFHours *float64 `json:"mtbf_hours"`
	// MTTRHours is the mean length of the failures, start to recovery; nil
	// without failures.
	MTTRHours *float64 `json:"mttr_hours"`
	// TooLittleExposure: the model was installed for fewer than
	// MinDeviceMonths device-months, too little for a rate or an MTBF.
	TooLittleExposure bool `json:"too_little_exposure,omitempty"`

	repairHours float64
}

// Name is how a chart or table labels the row.
func (m ModelRow) Name() string {
	switch {
	case m.Vendor == "" && m.Model == "":
		return "(unknown model)"
	case m.Model == "":
		return m.Vendor
	case m.Vendor == "":
		return m.Model
	}
	return m.Vendor + " " + m.Model
}

// Outcome is how one SLA target of one incident ended (or stands).
type Outcome int

// Outcomes.
const (
	NoTarget Outcome = iota // the incident has no due time
	Met
	Missed
	Pending // neither reached nor due yet
)

// SLATally counts the outcomes of one target.
type SLATally struct {
	Met     int `json:"met"`
	Missed  int `json:"missed"`
	Pending int `json:"pending"`
	// Share is Met / (Met + Missed); nil when both are zero.
	Share *float64 `json:"met_share"`
}

func (t *SLATally) add(o Outcome) {
	switch o {
	case Met:
		t.Met++
	case Missed:
		t.Missed++
	case Pending:
		t.Pending++
	}
}

// SLARow is one priority.
type SLARow struct {
	Priority   int      `json:"priority"`
	Incidents  int      `json:"incidents"`
	Response   SLATally `json:"response"`
	Resolution SLATally `json:"resolution"`
}

// DeviceRow is one device in the chronic list.
type DeviceRow struct {
	Tenant        string  `json:"tenant"`
	Store         string  `json:"store"`
	Device        string  `json:"device"`
	Kind          string  `json:"kind,omitempty"`
	Vendor        string  `json:"vendor,omitempty"`
	Model         string  `json:"model,omitempty"`
	Chronic       int     `json:"chronic_incidents"`
	Failures      int     `json:"failures"`
	Incidents     int     `json:"incidents"` // fault incidents opened in the period
	DowntimeHours float64 `json:"downtime_hours"`
}

// ShareRow counts how incidents opened in the period ended.
type ShareRow struct {
	Fault        string `json:"fault,omitempty"` // "" for the overall row
	Incidents    int    `json:"incidents"`
	SelfResolved int    `json:"self_resolved"`
	ByPeople     int    `json:"closed_by_people"`
	Open         int    `json:"open"`
	// Share is SelfResolved / (SelfResolved + ByPeople); nil when both are
	// zero.
	Share *float64 `json:"self_resolved_share"`
}

func (r *ShareRow) add(inc *incident.Incident) {
	r.Incidents++
	switch {
	case inc.State.Live():
		r.Open++
	case inc.Resolution == incident.ResolutionRecovered:
		r.SelfResolved++
	default:
		r.ByPeople++
	}
}

// SelfResolved is the overall row and one row per fault code.
type SelfResolved struct {
	Overall ShareRow   `json:"overall"`
	ByFault []ShareRow `json:"by_fault"`
}

// IsFailure reports whether an episode of code is a device failure: its
// vocabulary severity is error or critical, and it is not the store's agent
// going offline (a store outage, not a device's failure).
func IsFailure(code wire.FaultCode) bool {
	if code == wire.FaultAgentOffline {
		return false
	}
	info, ok := wire.Lookup(code)
	return ok && info.Severity >= wire.SeverityError
}

// ResponseOutcome is the response target's outcome: the response clock
// stops when the incident is acknowledged or ends (recovered by itself or
// closed), whichever comes first.
func ResponseOutcome(inc *incident.Incident, now time.Time) Outcome {
	stop := inc.AcknowledgedAt
	if !inc.ClosedAt.IsZero() && (stop.IsZero() || inc.ClosedAt.Before(stop)) {
		stop = inc.ClosedAt
	}
	return outcome(inc.ResponseDue, stop, now)
}

// ResolutionOutcome is the resolution target's outcome: the clock stops
// when the incident ends (recovered by itself or closed by a person).
func ResolutionOutcome(inc *incident.Incident, now time.Time) Outcome {
	return outcome(inc.ResolutionDue, inc.ClosedAt, now)
}

func outcome(due, stop, now time.Time) Outcome {
	switch {
	case due.IsZero():
		return NoTarget
	case !stop.IsZero() && !stop.After(due):
		return Met
	case !stop.IsZero(), now.After(due):
		return Missed
	}
	return Pending
}

// modelKey groups by vendor and model.
type modelKey struct{ vendor, model string }

// deviceKey names one device of one store.
type deviceKey struct{ tenant, store, device string }

type modelAcc struct {
	row     ModelRow
	devices map[deviceKey]bool
}

type deviceAcc struct {
	row  DeviceRow
	down []modelDown // failures per model the device had (almost always one)
}

type modelDown struct {
	model modelKey
	downtime
}

type computation struct {
	f       Filter
	locs    map[deviceKey]*time.Location // by tenant/store (device "")
	models  map[modelKey]*modelAcc
	devices map[deviceKey]*deviceAcc
	// last is the model each installed device was last seen as: the model
	// its Devices count goes to, and the one its failures recorded before
	// its identity was read are put down to.
	last    map[deviceKey]modelKey
	sla     [5]SLARow
	self    SelfResolved
	byFault map[string]*ShareRow
	rep     *Report
}

// cancelEvery is how many log entries pass between checks of the context.
const cancelEvery = 4096

// Compute makes the report of f from src. It reads the event log of the
// period once, in time order, and the install history once; what it keeps
// grows with the devices and their failures, not with the log.
func Compute(ctx context.Context, src Source, f Filter) (*Report, error) {
	if !f.To.After(f.From) {
		return nil, errors.New("reports: the period must end after it begins")
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	if f.Now.IsZero() {
		f.Now = f.To
	}
	if f.Top <= 0 {
		f.Top = DefaultTop
	}
	c := &computation{f: f, locs: map[deviceKey]*time.Location{}, models: map[modelKey]*modelAcc{},
		devices: map[deviceKey]*deviceAcc{}, last: map[deviceKey]modelKey{}, byFault: map[string]*ShareRow{}, rep: &Report{Filter: f}}
	for i := range c.sla {
		c.sla[i].Priority = i + 1
	}
	if err := c.loadZones(src); err != nil {
		return nil, err
	}
	if err := c.installed(src); err != nil {
		return nil, err
	}
	n := 0
	err := src.ScanLog(f.From, f.To, []incident.LogKind{incident.LogEpisode, incident.LogIncident}, func(l incident.LogEntry) error {
		if n++; n%cancelEvery == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		if (f.Tenant != "" && l.Tenant != f.Tenant) || (f.Store != "" && l.Store != f.Store) {
			return nil
		}
		switch l.Kind {
		case incident.LogEpisode:
			c.episode(&l)
		case incident.LogIncident:
			if l.State == "opened" {
				return c.opened(src, l.Incident)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("reports: %w", err)
	}
	c.finish()
	return c.rep, nil
}

func (c *computation) loadZones(src Source) error {
	stores, err := src.Stores()
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	byName := map[string]*time.Location{}
	for _, s := range stores {
		tz := s.Info.TimeZone
		loc, ok := byName[tz]
		if !ok {
			if loc, err = time.LoadLocation(tz); err != nil || tz == "" {
				loc = time.UTC // as the engine does with a zone it does not know
			}
			byName[tz] = loc
		}
		c.locs[deviceKey{s.Tenant, s.Store, ""}] = loc
	}
	return nil
}

func (c *computation) location(tenant, store string) *time.Location {
	if loc := c.locs[deviceKey{tenant, store, ""}]; loc != nil {
		return loc
	}
	return time.UTC
}

func (c *computation) model(k modelKey) *modelAcc {
	m := c.models[k]
	if m == nil {
		m = &modelAcc{row: ModelRow{Vendor: k.vendor, Model: k.model}, devices: map[deviceKey]bool{}}
		c.models[k] = m
	}
	return m
}

// installed adds each install stretch's overlap with the period to its
// model. The history comes ordered by device and time, so a stretch ends
// where the next record of the same device begins. A device counts once,
// under the model it was last seen as; a stretch before its identity was
// read (no vendor, no model) is that device's time as its later model.
func (c *computation) installed(src Source) error {
	var stretches []store.Install // one device's, in time order
	flush := func() {
		if len(stretches) == 0 {
			return
		}
		last := stretches[len(stretches)-1]
		lastKnown := modelKey{last.Vendor, last.Model}
		for i := len(stretches) - 1; i >= 0; i-- {
			if stretches[i].Vendor != "" || stretches[i].Model != "" {
				lastKnown = modelKey{stretches[i].Vendor, stretches[i].Model}
				break
			}
		}
		dk := deviceKey{last.Tenant, last.Store, last.Device}
		counted := false
		for i, in := range stretches {
			from, end := in.From, time.Time{}
			if i+1 < len(stretches) {
				end = stretches[i+1].From
			}
			if from.Before(c.f.From) {
				from = c.f.From
			}
			if end.IsZero() || end.After(c.f.To) {
				end = c.f.To
			}
			if !end.After(from) {
				continue
			}
			k := modelKey{in.Vendor, in.Model}
			if k == (modelKey{}) {
				k = lastKnown
			}
			m := c.model(k)
			m.row.InstalledHours += end.Sub(from).Hours()
			if in.Kind != "" {
				m.row.Kind = in.Kind
			}
			counted = true
		}
		if counted {
			c.model(lastKnown).devices[dk] = true
			c.last[dk] = lastKnown
		}
		stretches = stretches[:0]
	}
	err := src.ScanInstalls(c.f.Tenant, c.f.Store, func(in store.Install) error {
		if n := len(stretches); n > 0 {
			p := stretches[n-1]
			if in.Tenant != p.Tenant || in.Store != p.Store || in.Device != p.Device {
				flush()
			}
		}
		stretches = append(stretches, in)
		return nil
	})
	flush()
	if err != nil {
		return fmt.Errorf("reports: %w", err)
	}
	return nil
}

func (c *computation) device(tenant, store, dev string) *deviceAcc {
	k := deviceKey{tenant, store, dev}
	d := c.devices[k]
	if d == nil {
		d = &deviceAcc{row: DeviceRow{Tenant: tenant, Store: store, Device: dev}}
		c.devices[k] = d
	}
	return d
}

// episode records a fault episode that ended in the period, if it is a
// failure.
func (c *computation) episode(l *incident.LogEntry) {
	if l.Device == "" || len(l.Faults) != 1 || !IsFailure(l.Faults[0]) {
		return
	}
	start := l.Since
	if start.IsZero() || start.After(l.At) {
		start = l.At.Add(-time.Duration(l.Duration * float64(time.Second)))
	}
	d := c.device(l.Tenant, l.Store, l.Device)
	k := modelKey{l.Vendor, l.Model}
	if k == (modelKey{}) {
		// Failed before its identity was read: the model it was seen as
		// later.
		k = c.last[deviceKey{l.Tenant, l.Store, l.Device}]
	}
	if k != (modelKey{}) || d.row.Vendor == "" && d.row.Model == "" {
		d.row.Vendor, d.row.Model = k.vendor, k.model
	}
	if l.DevKind != "" {
		d.row.Kind = l.DevKind
	}
	i := slices.IndexFunc(d.down, func(m modelDown) bool { return m.model == k })
	if i < 0 {
		i = len(d.down)
		d.down = append(d.down, modelDown{model: k})
	}
	d.down[i].add(start, l.At)
}

// opened counts an incident opened in the period.
func (c *computation) opened(src Source, id string) error {
	inc, err := src.Incident(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	c.rep.Totals.Incidents++
	if inc.Priority >= 1 && inc.Priority <= 5 {
		r := &c.sla[inc.Priority-1]
		r.Incidents++
		r.Response.add(ResponseOutcome(&inc, c.f.Now))
		r.Resolution.add(ResolutionOutcome(&inc, c.f.Now))
	}
	switch inc.Kind {
	case incident.KindChronic:
		c.device(inc.Tenant, inc.Store, inc.Device).row.Chronic++
		return nil // chronic problems never end by themselves: not in the self-resolved share
	case incident.KindFault:
		d := c.device(inc.Tenant, inc.Store, inc.Device)
		d.row.Incidents++
		if d.row.Vendor == "" && d.row.Model == "" {
			d.row.Vendor, d.row.Model, d.row.Kind = inc.Facts.Vendor, inc.Facts.Model, inc.Facts.DeviceKind
		}
	}
	c.self.Overall.add(&inc)
	code := string(inc.Fault)
	r := c.byFault[code]
	if r == nil {
		r = &ShareRow{Fault: code}
		c.byFault[code] = r
	}
	r.add(&inc)
	return nil
}

// finish turns the sums into rows.
func (c *computation) finish() {
	rep := c.rep
	for k, d := range c.devices {
		loc := c.location(k.tenant, k.store)
		for _, dt := range d.down {
			m := c.model(dt.model)
			for _, iv := range dt.spans {
				m.row.Failures++
				d.row.Failures++
				m.row.repairHours += iv.length().Hours()
				t := iv.begins().In(loc)
				rep.WeekdayHour[(int(t.Weekday())+6)%7][t.Hour()]++
			}
			h := dt.within(c.f.From).Hours()
			m.row.DowntimeHours += h
			d.row.DowntimeHours += h
		}
	}
	vendors := map[string]*modelAcc{}
	devices := map[deviceKey]bool{}
	for _, m := range c.models {
		m.row.Devices = len(m.devices)
		va := vendors[m.row.Vendor]
		if va == nil {
			va = &modelAcc{row: ModelRow{Vendor: m.row.Vendor}, devices: map[deviceKey]bool{}}
			vendors[m.row.Vendor] = va
		}
		for k := range m.devices {
			devices[k] = true
			va.devices[k] = true
		}
		v := &va.row
		v.InstalledHours += m.row.InstalledHours
		v.Failures += m.row.Failures
		v.DowntimeHours += m.row.DowntimeHours
		v.repairHours += m.row.repairHours
		rep.Models = append(rep.Models, m.row)
	}
	for _, va := range vendors {
		va.row.Devices = len(va.devices)
		rep.Vendors = append(rep.Vendors, va.row)
	}
	t := &rep.Totals
	t.Devices = len(devices)
	var installed, repair float64
	for i := range rep.Vendors {
		v := &rep.Vendors[i]
		installed += v.InstalledHours
		repair += v.repairHours
		t.Failures += v.Failures
		t.DowntimeHours += v.DowntimeHours
	}
	t.DeviceMonths = round(installed / DeviceMonth.Hours())
	t.DowntimeHours = round(t.DowntimeHours)
	t.Rate = ratio(float64(t.Failures), installed/DeviceMonth.Hours())
	if installed > 0 && installed/DeviceMonth.Hours() < MinDeviceMonths {
		t.Rate, t.TooLittleExposure = nil, true
	}
	t.MTTRHours = ratio(repair, float64(t.Failures))
	byName := func(a, b ModelRow) int { return cmp.Or(cmp.Compare(a.Vendor, b.Vendor), cmp.Compare(a.Model, b.Model)) }
	for _, rows := range [][]ModelRow{rep.Models, rep.Vendors} {
		for i := range rows {
			rows[i].settle()
		}
		slices.SortFunc(rows, byName)
	}
	for i := range c.sla {
		c.sla[i].Response.settle()
		c.sla[i].Resolution.settle()
	}
	rep.SLA = c.sla[:]
	for _, d := range c.devices {
		if d.row.Failures > 0 || d.row.Chronic > 0 {
			d.row.DowntimeHours = round(d.row.DowntimeHours)
			rep.Chronic = append(rep.Chronic, d.row)
		}
	}
	slices.SortFunc(rep.Chronic, func(a, b DeviceRow) int {
		return cmp.Or(-cmp.Compare(a.Chronic, b.Chronic), -cmp.Compare(a.Failures, b.Failures),
			-cmp.Compare(a.DowntimeHours, b.DowntimeHours), cmp.Compare(a.Tenant, b.Tenant),
			cmp.Compare(a.Store, b.Store), cmp.Compare(a.Device, b.Device))
	})
	if len(rep.Chronic) > c.f.Top {
		rep.Chronic = rep.Chronic[:c.f.Top]
	}
	c.self.Overall.settle()
	for _, r := range c.byFault {
		r.settle()
		c.self.ByFault = append(c.self.ByFault, *r)
	}
	slices.SortFunc(c.self.ByFault, func(a, b ShareRow) int { return cmp.Compare(a.Fault, b.Fault) })
	rep.SelfResolved = c.self
	if rep.Models == nil {
		rep.Models, rep.Vendors = []ModelRow{}, []ModelRow{}
	}
	if rep.Chronic == nil {
		rep.Chronic = []DeviceRow{}
	}
	if rep.SelfResolved.ByFault == nil {
		rep.SelfResolved.ByFault = []ShareRow{}
	}
}

// settle derives a row's ratios from its sums.
func (m *ModelRow) settle() {
	months := m.InstalledHours / DeviceMonth.Hours()
	operating := max(0, m.InstalledHours-m.DowntimeHours)
	m.DeviceMonths = round(months)
	m.Rate = ratio(float64(m.Failures), months)
	m.OperatingHours = round(operating)
	m.MTBFHours = ratio(operating, float64(m.Failures))
	m.MTTRHours = ratio(m.repairHours, float64(m.Failures))
	if months > 0 && months < MinDeviceMonths {
		m.Rate, m.MTBFHours, m.TooLittleExposure = nil, nil, true
	}
	m.InstalledHours = round(m.InstalledHours)
	m.DowntimeHours = round(m.DowntimeHours)
}

func (t *SLATally) settle() { t.Share = ratio(float64(t.Met), float64(t.Met+t.Missed)) }

func (r *ShareRow) settle() {
	r.Share = ratio(float64(r.SelfResolved), float64(r.SelfResolved+r.ByPeople))
}

// ratio is a / b rounded, or nil when b is zero (no figure, rather than an
// infinity or a misleading zero).
func ratio(a, b float64) *float64 {
	if b == 0 {
		return nil
	}
	v := round(a / b)
	return &v
}

// round keeps six decimals: the report's figures are sums of float hours,
// and 0.30000000000000004 helps nobody.
func round(v float64) float64 { return math.Round(v*1e6) / 1e6 }
