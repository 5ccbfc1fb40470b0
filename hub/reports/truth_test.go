package reports_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// The ground truth. One tenant, five stores in five time zones, a 30-day
// period that holds two daylight-saving changes (Berlin springs forward on
// 29 March, Sydney falls back on 5 April), devices installed before and
// during the period, one swapped for another model, fault episodes placed at
// known instants and incidents with known SLA times. Every figure the tests
// below expect is worked out by hand from this description, in the comments
// next to it; none is computed by code.
//
// The scenario is written through the real bbolt store, plainly (seed 0) and
// with noise a report must ignore (warnings, info faults, agent outages,
// repeated device records, state changes, incident transitions, another
// tenant) in shuffled order and batching (other seeds). Every seed must give
// the same figures.

var (
	from = time.Date(2026, 3, 15, 0, 0, 0, 0, time.UTC) // a Sunday
	to   = time.Date(2026, 4, 14, 0, 0, 0, 0, time.UTC) // 30 days = 720 h later
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

const (
	printer  = "receipt_printer"
	scale    = "scale"
	terminal = "payment_terminal"
)

func scenario() reportgen.World {
	w := reportgen.World{From: from, To: to}
	w.Stores = []reportgen.Store{
		{Tenant: "acme", ID: "berlin", TimeZone: "Europe/Berlin"},
		{Tenant: "acme", ID: "tokyo", TimeZone: "Asia/Tokyo"},
		{Tenant: "acme", ID: "sydney", TimeZone: "Australia/Sydney"},
		{Tenant: "acme", ID: "newyork", TimeZone: "America/New_York"},
		{Tenant: "acme", ID: "nozone", TimeZone: ""}, // no time zone: UTC
	}
	before := at("2026-01-01T00:00:00Z")
	dev := func(store, id, kind, vendor, model string, installed time.Time) reportgen.Device {
		return reportgen.Device{Tenant: "acme", Store: store, ID: id, Kind: kind, Vendor: vendor, Model: model, Installed: installed}
	}
	// Model A, EPSON TM-T88VI: ten printers through the whole period.
	for _, sd := range [][2]string{{"berlin", "p1"}, {"berlin", "p2"}, {"berlin", "p3"}, {"tokyo", "p1"}, {"tokyo", "p2"}, {"tokyo", "p3"},
		{"sydney", "p1"}, {"sydney", "p2"}, {"newyork", "p1"}, {"newyork", "p2"}} {
		w.Devices = append(w.Devices, dev(sd[0], sd[1], printer, "EPSON", "TM-T88VI", before))
	}
	// Model B, Mettler Toledo Ariva-S: two scales through the period and
	// two installed 15 days before its end.
	w.Devices = append(w.Devices,
		dev("newyork", "s1", scale, "Mettler Toledo", "Ariva-S", before),
		dev("newyork", "s2", scale, "Mettler Toledo", "Ariva-S", before),
		dev("newyork", "s3", scale, "Mettler Toledo", "Ariva-S", at("2026-03-30T00:00:00Z")),
		dev("newyork", "s4", scale, "Mettler Toledo", "Ariva-S", at("2026-03-30T00:00:00Z")),
	)
	// Model C, Ingenico Lane/3000: one terminal, never fails.
	w.Devices = append(w.Devices, dev("berlin", "pt1", terminal, "Ingenico", "Lane/3000", before))
	// Models D and E: a Star TSP143 swapped for a TSP654 under the same id
	// 10 days into the period.
	swap := dev("nozone", "p-swap", printer, "Star", "TSP143", before)
	swap.Swaps = []reportgen.Swap{{At: at("2026-03-25T00:00:00Z"), Vendor: "Star", Model: "TSP654"}}
	w.Devices = append(w.Devices, swap)

	ep := func(store, device string, code wire.FaultCode, start string, d time.Duration) reportgen.Episode {
		return reportgen.Episode{Tenant: "acme", Store: store, Device: device, Code: code, Start: at(start), Duration: d}
	}
	w.Episodes = []reportgen.Episode{
		// Model A: four failures.
		// 1. Began before the period (Sat 14 March 23:00 in Berlin, CET),
		//    ended 02:00 UTC on the first day: counts, 4 h long, 2 h of it
		//    inside the period.
		ep("berlin", "p2", wire.FaultHeadFault, "2026-03-14T22:00:00Z", 4*time.Hour),
		// 2. A paper jam and an open cover overlapping: one failure, 01:30
		//    to 03:00 UTC = 1.5 h, beginning Sun 29 March 03:30 in Berlin,
		//    half an hour after the clocks went from 02:00 to 03:00.
		ep("berlin", "p1", wire.FaultPaperJam, "2026-03-29T01:30:00Z", time.Hour),
		ep("berlin", "p1", wire.FaultCoverOpen, "2026-03-29T02:00:00Z", time.Hour),
		// 3. Fri 20 March 09:15 in Tokyo (JST, UTC+9), 0.5 h.
		ep("tokyo", "p1", wire.FaultPaperOut, "2026-03-20T00:15:00Z", 30*time.Minute),
		// 4. Mon 6 April 03:00 in Sydney: AEST (UTC+10) since the 5th; the
		//    same instant a day earlier would have been 04:00 (AEDT). 2 h.
		ep("sydney", "p1", wire.FaultUnreachable, "2026-04-05T17:00:00Z", 2*time.Hour),
		// Not failures of the period: ended before it began, or ends after
		// it (a fault still present at its end counts when it ends).
		ep("sydney", "p2", wire.FaultPaperJam, "2026-03-14T10:00:00Z", time.Hour),
		ep("tokyo", "p3", wire.FaultPaperJam, "2026-04-13T23:00:00Z", 2*time.Hour),
		// Not failures at all: a warning and an info fault.
		ep("berlin", "p3", wire.FaultPaperLow, "2026-03-18T12:00:00Z", 3*time.Hour),
		ep("berlin", "pt1", wire.FaultPTBusy, "2026-03-18T12:00:00Z", time.Minute),

		// Model B: six failures at 09:00 and 14:30 New York time (EDT,
		// UTC-4, since 8 March), 3 x 15 min + 3 x 45 min = 3 h.
		ep("newyork", "s1", wire.FaultScaleZeroError, "2026-03-16T13:00:00Z", 15*time.Minute),   // Mon 09:00
		ep("newyork", "s2", wire.FaultScaleZeroError, "2026-03-17T13:00:00Z", 15*time.Minute),   // Tue 09:00
		ep("newyork", "s1", wire.FaultScaleOverload, "2026-03-18T13:00:00Z", 15*time.Minute),    // Wed 09:00
		ep("newyork", "s3", wire.FaultScaleCalibration, "2026-04-01T18:30:00Z", 45*time.Minute), // Wed 14:30
		ep("newyork", "s4", wire.FaultUnreachable, "2026-04-02T18:30:00Z", 45*time.Minute),      // Thu 14:30
		ep("newyork", "s3", wire.FaultNoResponse, "2026-04-03T18:30:00Z", 45*time.Minute),       // Fri 14:30
		ep("newyork", "s2", wire.FaultScaleUnstable, "2026-03-20T13:00:00Z", 5*time.Hour),       // a warning

		// Model D: one failure, Fri 20 March 10:00 UTC (the store has no
		// time zone), 1 h, before the swap. Model E: none.
		ep("nozone", "p-swap", wire.FaultCutterError, "2026-03-20T10:00:00Z", time.Hour),
	}
	// The agent of Berlin offline for 5 h: a store outage, no device's
	// failure.
	w.Outages = []reportgen.Outage{{Tenant: "acme", Store: "berlin", Start: at("2026-04-07T06:00:00Z"), Duration: 5 * time.Hour}}

	type inc = incident.Incident
	fault := func(id, store, device string, code wire.FaultCode, p int, opened string, respDue, resDue time.Duration) inc {
		o := at(opened)
		i := inc{ID: id, Kind: incident.KindFault, Tenant: "acme", Store: store, Agent: reportgen.Agent, Device: device, Fault: code,
			State: incident.StateOpen, Priority: p, OpenedAt: o}
		if respDue > 0 {
			i.ResponseDue, i.ResolutionDue = o.Add(respDue), o.Add(resDue)
		}
		return i
	}
	ack := func(i inc, a string) inc { i.State, i.AcknowledgedAt = incident.StateAcknowledged, at(a); return i }
	selfResolved := func(i inc, a string) inc {
		i.State, i.Resolution, i.ClosedAt = incident.StateResolved, incident.ResolutionRecovered, at(a)
		return i
	}
	closed := func(i inc, a string) inc {
		i.State, i.Resolution, i.ClosedAt = incident.StateClosed, incident.ResolutionClosed, at(a)
		return i
	}
	chronic := func(i inc) inc { i.Kind = incident.KindChronic; return i }
	agentOffline := func(i inc) inc { i.Kind, i.Device = incident.KindAgentOffline, ""; return i }
	w.Incidents = []inc{
		// P1 (15 min / 4 h): one met both targets, one missed both.
		closed(ack(fault("INC-000001", "berlin", "p1", wire.FaultPaperJam, 1, "2026-03-20T10:00:00Z", 15*time.Minute, 4*time.Hour),
			"2026-03-20T10:10:00Z"), "2026-03-20T13:00:00Z"),
		closed(ack(fault("INC-000002", "sydney", "p1", wire.FaultUnreachable, 1, "2026-03-21T10:00:00Z", 15*time.Minute, 4*time.Hour),
			"2026-03-21T10:20:00Z"), "2026-03-21T15:00:00Z"),
		// P2 (1 h / 8 h): recovered by itself after 30 min, never
		// acknowledged: the response clock stops at its end, both met.
		selfResolved(fault("INC-000003", "tokyo", "p1", wire.FaultPaperOut, 2, "2026-03-22T10:00:00Z", time.Hour, 8*time.Hour), "2026-03-22T10:30:00Z"),
		// P2: opened 4 h before the end of the period and still open; due
		// after it: pending both.
		fault("INC-000004", "tokyo", "p2", wire.FaultPaperOut, 2, "2026-04-13T20:00:00Z", 13*time.Hour, 21*time.Hour),
		// P2: open, never acknowledged, both targets long past: missed.
		fault("INC-000005", "newyork", "s1", wire.FaultScaleZeroError, 2, "2026-04-10T08:00:00Z", time.Hour, 8*time.Hour),
		// P3: the Berlin agent offline, back after an hour: met, met.
		agentOffline(selfResolved(fault("INC-000006", "berlin", "", wire.FaultAgentOffline, 3, "2026-03-25T08:00:00Z", 4*time.Hour, 24*time.Hour), "2026-03-25T09:00:00Z")),
		// P4: a chronic problem acknowledged a day late and still open past
		// its resolution due: missed, missed.
		ack(chronic(fault("INC-000007", "berlin", "p1", wire.FaultPaperJam, 4, "2026-03-29T05:00:00Z", 8*time.Hour, 5*24*time.Hour)), "2026-03-30T09:00:00Z"),
		// P4: a chronic problem acknowledged and closed in time: met, met.
		closed(ack(chronic(fault("INC-000008", "newyork", "s1", wire.FaultScaleZeroError, 4, "2026-03-19T09:00:00Z", 8*time.Hour, 5*24*time.Hour)),
			"2026-03-19T10:00:00Z"), "2026-03-20T12:00:00Z"),
		// P4: a chronic problem without due times: counted, no target.
		chronic(fault("INC-000009", "berlin", "p1", wire.FaultCoverOpen, 4, "2026-04-01T00:00:00Z", 0, 0)),
		// P3: recovered by itself after 5 min: met, met.
		selfResolved(fault("INC-000010", "berlin", "p3", wire.FaultPaperOut, 3, "2026-04-02T10:00:00Z", 4*time.Hour, 16*time.Hour), "2026-04-02T10:05:00Z"),
		// Opened before and after the period: in no table.
		closed(fault("INC-000011", "berlin", "p2", wire.FaultHeadFault, 2, "2026-03-14T22:00:00Z", time.Hour, 8*time.Hour), "2026-03-15T03:00:00Z"),
		fault("INC-000012", "tokyo", "p3", wire.FaultPaperJam, 2, "2026-04-14T00:00:00Z", time.Hour, 8*time.Hour),
	}
	return w
}

var seeds = []uint64{0, 1, 2, 7, 42}

// reportOf writes the scenario with seed into a fresh bbolt store and
// reports on tenant acme over the period, made at its end.
func reportOf(t *testing.T, seed uint64, f reports.Filter) *reports.Report {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := reportgen.Write(st, scenario(), seed); err != nil {
		t.Fatal(err)
	}
	r, err := reports.Compute(context.Background(), st, f)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func acme() reports.Filter { return reports.Filter{Tenant: "acme", From: from, To: to, Now: to} }

// eachSeed runs check on the scenario's report for every seed.
func eachSeed(t *testing.T, f reports.Filter, check func(t *testing.T, r *reports.Report)) {
	for _, seed := range seeds {
		t.Run(fmt.Sprintf("seed %d", seed), func(t *testing.T) { check(t, reportOf(t, seed, f)) })
	}
}

// num writes an optional figure for messages and comparisons.
func num(v *float64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

func model(t *testing.T, r *reports.Report, name string) reports.ModelRow {
	t.Helper()
	for _, m := range r.Models {
		if m.Name() == name {
			return m
		}
	}
	t.Fatalf("no row for model %s in %+v", name, r.Models)
	return reports.ModelRow{}
}

func TestFailuresPerDeviceMonth(t *testing.T) {
	// A device-month is 30 days of one installed device; a failure is an
	// error or critical episode on a device that ended in the period, with
	// overlapping episodes of one device merged.
	rows := []struct {
		model        string
		kind         string
		devices      int
		deviceMonths float64
		failures     int
		rate         string
		why          string
	}{
		{"EPSON TM-T88VI", printer, 10, 10, 4, "0.4",
			"10 devices x 30 days; 4 failures: one begun before the period, two overlapping episodes as one, no warning, none ended outside"},
		{"Ingenico Lane/3000", terminal, 1, 1, 0, "0", "installed, never failed: a rate of 0, not none"},
		{"Mettler Toledo Ariva-S", scale, 4, 3, 6, "2", "2 x 30 + 2 x 15 device-days = 3 device-months; 6 failures; the unstable-weight warning is none"},
		{"Star TSP143", printer, 0, 0.333333, 1, "3", "10 days until the swap = 1/3 device-month, 1 failure; the device counts under the model it was last seen as (TSP654)"},
		{"Star TSP654", printer, 1, 0.666667, 0, "0", "the 20 days after the swap"},
	}
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		if len(r.Models) != len(rows) {
			t.Errorf("%d model rows, want %d: %+v", len(r.Models), len(rows), r.Models)
		}
		for i, w := range rows {
			m := model(t, r, w.model)
			if i < len(r.Models) && r.Models[i].Name() != w.model {
				t.Errorf("row %d is %s, want %s (rows by vendor, then model)", i, r.Models[i].Name(), w.model)
			}
			if m.Kind != w.kind || m.Devices != w.devices || m.DeviceMonths != w.deviceMonths || m.Failures != w.failures || num(m.Rate) != w.rate {
				t.Errorf("%s (%s):\n got  kind %s, %d devices, %v device-months, %d failures, rate %s\n want kind %s, %d devices, %v device-months, %d failures, rate %s",
					w.model, w.why, m.Kind, m.Devices, m.DeviceMonths, m.Failures, num(m.Rate), w.kind, w.devices, w.deviceMonths, w.failures, w.rate)
			}
		}
	})
}

func TestMTBFAndMTTRPerModel(t *testing.T) {
	// MTTR: mean length of the failures, start to recovery, in full (also
	// the part before the period). Downtime: the failures' time inside the
	// period. MTBF: (installed - downtime) hours / failures.
	rows := []struct {
		model                          string
		installed, downtime, operating float64
		mtbf, mttr                     string
		why                            string
	}{
		{"EPSON TM-T88VI", 7200, 6, 7194, "1798.5", "2",
			"lengths 4 + 1.5 + 0.5 + 2 = 8 h over 4 failures; downtime 2 (of the 4 h begun before) + 1.5 + 0.5 + 2 = 6 h"},
		{"Ingenico Lane/3000", 720, 0, 720, "none", "none", "no failures: no MTBF, no MTTR"},
		{"Mettler Toledo Ariva-S", 2160, 3, 2157, "359.5", "0.5", "2 x 720 + 2 x 360 h installed; 3 h down over 6 failures"},
		{"Star TSP143", 240, 1, 239, "239", "1", "10 days installed, one 1 h failure"},
		{"Star TSP654", 480, 0, 480, "none", "none", ""},
	}
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		for _, w := range rows {
			m := model(t, r, w.model)
			if m.InstalledHours != w.installed || m.DowntimeHours != w.downtime || m.OperatingHours != w.operating ||
				num(m.MTBFHours) != w.mtbf || num(m.MTTRHours) != w.mttr {
				t.Errorf("%s (%s):\n got  installed %v h, down %v h, operating %v h, MTBF %s h, MTTR %s h\n want installed %v h, down %v h, operating %v h, MTBF %s h, MTTR %s h",
					w.model, w.why, m.InstalledHours, m.DowntimeHours, m.OperatingHours, num(m.MTBFHours), num(m.MTTRHours),
					w.installed, w.downtime, w.operating, w.mtbf, w.mttr)
			}
		}
	})
}

func TestVendorsSumTheirModels(t *testing.T) {
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		var got []string
		for _, v := range r.Vendors {
			got = append(got, fmt.Sprintf("%s: %d devices, %v device-months, %d failures, rate %s, MTTR %s",
				v.Name(), v.Devices, v.DeviceMonths, v.Failures, num(v.Rate), num(v.MTTRHours)))
		}
		want := []string{
			"EPSON: 10 devices, 10 device-months, 4 failures, rate 0.4, MTTR 2",
			"Ingenico: 1 devices, 1 device-months, 0 failures, rate 0, MTTR none",
			"Mettler Toledo: 4 devices, 3 device-months, 6 failures, rate 2, MTTR 0.5",
			// The swapped device is one device of Star, installed all 30
			// days.
			"Star: 1 devices, 1 device-months, 1 failures, rate 1, MTTR 1",
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("vendors\n got  %q\n want %q", got, want)
		}
	})
}

func TestFailuresByStoreLocalWeekdayAndHour(t *testing.T) {
	type cell struct {
		day  string
		hour int
		n    int
		why  string
	}
	cells := []cell{
		{"Sat", 23, 1, "Berlin 14 March 22:00 UTC = 23:00 CET: the failure begun before the period counts where it began"},
		{"Sun", 3, 1, "Berlin 29 March 01:30 UTC = 03:30 CEST, after the spring-forward (not 02:30)"},
		{"Fri", 9, 1, "Tokyo 20 March 00:15 UTC = 09:15 JST"},
		{"Mon", 3, 1, "Sydney 5 April 17:00 UTC = Mon 6 April 03:00 AEST, after the fall-back (not 04:00)"},
		{"Mon", 9, 1, "New York 16 March 13:00 UTC = 09:00 EDT"},
		{"Tue", 9, 1, "New York"},
		{"Wed", 9, 1, "New York"},
		{"Wed", 14, 1, "New York 1 April 18:30 UTC = 14:30 EDT"},
		{"Thu", 14, 1, "New York"},
		{"Fri", 14, 1, "New York"},
		{"Fri", 10, 1, "a store without time zone: UTC"},
	}
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		var want [7][24]int
		for _, c := range cells {
			d := 0
			for d < 7 && reports.Weekdays[d] != c.day {
				d++
			}
			want[d][c.hour] += c.n
		}
		for d := range 7 {
			for h := range 24 {
				if r.WeekdayHour[d][h] != want[d][h] {
					why := "no failure began then"
					for _, c := range cells {
						if c.day == reports.Weekdays[d] && c.hour == h {
							why = c.why
						}
					}
					t.Errorf("%s %02d:00: %d failures, want %d (%s)", reports.Weekdays[d], h, r.WeekdayHour[d][h], want[d][h], why)
				}
			}
		}
	})
}

func TestSLAComplianceByPriority(t *testing.T) {
	// Response stops at the acknowledgement or the incident's end, whichever
	// is first; resolution at its end. Not reached and not yet due at the
	// report's time (the end of the period) is pending; no due time is no
	// target.
	rows := []string{
		"P1: 2 incidents; response 1 met 1 missed 0 pending (0.5); resolution 1 met 1 missed 0 pending (0.5)",
		"P2: 3 incidents; response 1 met 1 missed 1 pending (0.5); resolution 1 met 1 missed 1 pending (0.5)",
		"P3: 2 incidents; response 2 met 0 missed 0 pending (1); resolution 2 met 0 missed 0 pending (1)",
		"P4: 3 incidents; response 1 met 1 missed 0 pending (0.5); resolution 1 met 1 missed 0 pending (0.5)",
		"P5: 0 incidents; response 0 met 0 missed 0 pending (none); resolution 0 met 0 missed 0 pending (none)",
	}
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		var got []string
		for _, s := range r.SLA {
			got = append(got, fmt.Sprintf("P%d: %d incidents; response %d met %d missed %d pending (%s); resolution %d met %d missed %d pending (%s)",
				s.Priority, s.Incidents, s.Response.Met, s.Response.Missed, s.Response.Pending, num(s.Response.Share),
				s.Resolution.Met, s.Resolution.Missed, s.Resolution.Pending, num(s.Resolution.Share)))
		}
		if fmt.Sprint(got) != fmt.Sprint(rows) {
			t.Errorf("SLA\n got  %q\n want %q", got, rows)
		}
	})
}

func TestSLAPendingDependsOnWhenTheReportIsMade(t *testing.T) {
	// INC-000004 is due 09:00 / 17:00 on 14 April. Made at 12:00 that day,
	// its response is missed and its resolution still pending.
	f := acme()
	f.Now = at("2026-04-14T12:00:00Z")
	r := reportOf(t, 0, f)
	p2 := r.SLA[1]
	if p2.Response.Missed != 2 || p2.Response.Pending != 0 || p2.Resolution.Missed != 1 || p2.Resolution.Pending != 1 {
		t.Errorf("P2 at 12:00 on the 14th: %+v", p2)
	}
}

func TestTopChronicDevices(t *testing.T) {
	// Most chronic-problem incidents first, then most failures, then most
	// downtime, then by name.
	want := []string{
		"berlin/p1: 2 chronic, 1 failures, 1 incidents, 1.5 h (two chronic problems; the jam and the cover are one failure)",
		"newyork/s1: 1 chronic, 2 failures, 1 incidents, 0.5 h",
		"newyork/s3: 0 chronic, 2 failures, 0 incidents, 1.5 h",
		"berlin/p2: 0 chronic, 1 failures, 0 incidents, 2 h (2 h of its 4 fell in the period; ties sydney/p1, berlin first)",
		"sydney/p1: 0 chronic, 1 failures, 1 incidents, 2 h",
		"nozone/p-swap: 0 chronic, 1 failures, 0 incidents, 1 h",
		"newyork/s4: 0 chronic, 1 failures, 0 incidents, 0.75 h",
		"tokyo/p1: 0 chronic, 1 failures, 1 incidents, 0.5 h",
		"newyork/s2: 0 chronic, 1 failures, 0 incidents, 0.25 h",
	}
	strip := func(s string) string {
		if i := len(s) - 1; s[i] == ')' {
			for j := i; j >= 0; j-- {
				if s[j] == '(' {
					return s[:j-1]
				}
			}
		}
		return s
	}
	for _, top := range []int{0, 5} {
		f := acme()
		f.Top = top
		eachSeed(t, f, func(t *testing.T, r *reports.Report) {
			n := len(want)
			if top > 0 {
				n = top
			}
			if len(r.Chronic) != n {
				t.Errorf("top %d: %d devices listed, want %d", top, len(r.Chronic), n)
			}
			for i := range min(n, len(r.Chronic)) {
				d := r.Chronic[i]
				got := fmt.Sprintf("%s/%s: %d chronic, %d failures, %d incidents, %v h", d.Store, d.Device, d.Chronic, d.Failures, d.Incidents, d.DowntimeHours)
				if got != strip(want[i]) {
					t.Errorf("top %d, place %d: %s\n want %s", top, i+1, got, want[i])
				}
			}
		})
	}
}

func TestSelfResolvedShare(t *testing.T) {
	// Fault and agent-offline incidents opened in the period; chronic
	// problems never end by themselves and are left out.
	want := []string{
		"overall: 7 incidents, 3 self-resolved, 2 by people, 2 open, share 0.6",
		"agent_offline: 1 incidents, 1 self-resolved, 0 by people, 0 open, share 1",
		"paper_jam: 1 incidents, 0 self-resolved, 1 by people, 0 open, share 0",
		"paper_out: 3 incidents, 2 self-resolved, 0 by people, 1 open, share 1",
		"scale_zero_error: 1 incidents, 0 self-resolved, 0 by people, 1 open, share none",
		"unreachable: 1 incidents, 0 self-resolved, 1 by people, 0 open, share 0",
	}
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		line := func(name string, s reports.ShareRow) string {
			return fmt.Sprintf("%s: %d incidents, %d self-resolved, %d by people, %d open, share %s", name, s.Incidents, s.SelfResolved, s.ByPeople, s.Open, num(s.Share))
		}
		got := []string{line("overall", r.SelfResolved.Overall)}
		for _, s := range r.SelfResolved.ByFault {
			got = append(got, line(s.Fault, s))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("self-resolved\n got  %q\n want %q", got, want)
		}
	})
}

func TestTotals(t *testing.T) {
	eachSeed(t, acme(), func(t *testing.T, r *reports.Report) {
		got := r.Totals
		// 16 devices (the swapped one once); 10 + 1 + 3 + 1/3 + 2/3 = 15
		// device-months; 4 + 6 + 1 = 11 failures, 11/15 per device-month;
		// 6 + 3 + 1 = 10 h down; (8 + 3 + 1) / 11 h MTTR; 10 incidents
		// opened in the period.
		want := "16 devices, 15 device-months, 11 failures, rate 0.733333, 10 h down, MTTR 1.090909, 10 incidents"
		if s := fmt.Sprintf("%d devices, %v device-months, %d failures, rate %s, %v h down, MTTR %s, %d incidents",
			got.Devices, got.DeviceMonths, got.Failures, num(got.Rate), got.DowntimeHours, num(got.MTTRHours), got.Incidents); s != want {
			t.Errorf("totals\n got  %s\n want %s", s, want)
		}
	})
}

func TestStoreFilterKeepsOneStore(t *testing.T) {
	f := acme()
	f.Store = "newyork"
	eachSeed(t, f, func(t *testing.T, r *reports.Report) {
		// New York: 2 EPSON printers without failures, the 4 scales.
		if r.Totals.Devices != 6 || r.Totals.Failures != 6 || len(r.Models) != 2 {
			t.Errorf("newyork: %+v, models %+v", r.Totals, r.Models)
		}
		if r.Totals.Incidents != 2 { // INC-000005 and the chronic INC-000008
			t.Errorf("newyork incidents: %d", r.Totals.Incidents)
		}
	})
}

func TestEveryTenantIncludesTheNoise(t *testing.T) {
	// Without a tenant the noise tenant's five printers and five failures
	// count too: proof that the tenant filter is what kept them out above.
	f := acme()
	f.Tenant = ""
	r := reportOf(t, 7, f)
	if r.Totals.Devices != 16+5 || r.Totals.Failures != 11+5 || r.Totals.Incidents != 10+5 {
		t.Errorf("every tenant: %+v", r.Totals)
	}
	if r := reportOf(t, 0, f); r.Totals.Devices != 16 {
		t.Errorf("seed 0 writes no noise: %+v", r.Totals)
	}
}
