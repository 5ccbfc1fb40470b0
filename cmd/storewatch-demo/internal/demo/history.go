package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// The demo's hub starts with a history, so that its reports page answers
// what retailers ask (which model fails most, when the load comes) in the
// first minute, instead of rates over the one store's few minutes. The
// history is generated from a seed, the same every run for the same day,
// and written through the hub's store as the incident engine writes it
// (device records, event-log episodes, incidents: reportgen), before the hub
// starts, so the engine numbers the day's tickets after it.
const (
	historySeed   = 18
	historyDays   = 91 // about three months, ending the day before the demo's
	historyStores = 11 // the chain's other stores; with the demo's, a dozen
)

// chainNames name the chain's other stores.
var chainNames = []string{"Old Town", "Riverside", "Station", "Harbour", "North", "South", "West End", "Market Square", "Park", "Hillside", "Airport"}

// modelSpec is one model of the chain's installed base and how often it
// fails: failures per device per month of 30 days, on an average day.
type modelSpec struct {
	kind, vendor, model string
	perMonth            float64
	faults              []faultSpec
}

// faultSpec is one way a model fails and how long that lasts: a share of
// its failures, lasting from min to max (log-uniformly: most are short).
type faultSpec struct {
	code     wire.FaultCode
	weight   float64
	min, max time.Duration
}

var (
	receiptFaults = []faultSpec{
		{wire.FaultPaperOut, 6, 3 * time.Minute, 40 * time.Minute},
		{wire.FaultPaperJam, 2, 2 * time.Minute, 30 * time.Minute},
		{wire.FaultCutterError, 1, 10 * time.Minute, 6 * time.Hour},
	}
	labelFaults = []faultSpec{
		{wire.FaultPaperOut, 4, 3 * time.Minute, 45 * time.Minute},
		{wire.FaultRibbonOut, 3, 5 * time.Minute, 60 * time.Minute},
		{wire.FaultPaperJam, 3, 2 * time.Minute, 40 * time.Minute},
		{wire.FaultHeadFault, 1, 2 * time.Hour, 30 * time.Hour},
	}
	// The chain's models. The GK420d label printers fail far more often
	// than the ZD420s beside them: what the failure-rate chart must show.
	chainModels = map[string]modelSpec{
		"receipt":  {"receipt_printer", "EPSON", "TM-T88V", 1.5, receiptFaults},
		"service":  {"receipt_printer", "EPSON", "TM-T20III", 1.8, receiptFaults},
		"zd420":    {"label_printer", "Zebra", "ZD420", 1.5, labelFaults},
		"gk420d":   {"label_printer", "Zebra", "GK420d", 9.0, labelFaults},
		"scale":    {"scale", "Mettler Toledo", "ICS425s", 0.9, []faultSpec{{wire.FaultScaleZeroError, 3, 2 * time.Minute, 20 * time.Minute}, {wire.FaultScaleCalibration, 1, 3 * time.Hour, 48 * time.Hour}}},
		"terminal": {"payment_terminal", "Ingenico", "Lane/3000", 0.8, []faultSpec{{wire.FaultPTHostUnreachable, 1, 2 * time.Minute, 45 * time.Minute}}},
		"pos":      {"pos_pc", "", "", 0.6, []faultSpec{{wire.FaultUnreachable, 1, 4 * time.Minute, 90 * time.Minute}}},
	}
	// dayLoad is how the failures spread over the week (Monday first):
	// Monday brings what went wrong over the weekend to light, Sunday the
	// stores are mostly closed.
	dayLoad = [7]float64{2.8, 1.3, 1.0, 1.0, 1.1, 1.2, 0.25}
	// hourLoad spreads a day's failures over the trading hours 08:00 to
	// 20:00: the devices switched on at opening, the lunch rush.
	hourLoad = [24]float64{8: 3.0, 9: 2.2, 10: 1.4, 11: 1.2, 12: 1.6, 13: 1.4, 14: 1.0, 15: 1.0, 16: 1.1, 17: 1.3, 18: 1.1, 19: 0.8}
)

// history describes the chain's last historyDays days before the local day
// that contains end, in the store zone loc: historyStores stores, each with
// three lanes (POS PC, receipt printer, payment terminal), a service-desk
// printer, and a deli counter with a label printer (GK420d in every other
// store, ZD420 in the rest) and a scale. The same seed and day give the
// same history.
func history(seed uint64, end time.Time, loc *time.Location) reportgen.World {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	y, m, d := end.In(loc).Date()
	last := time.Date(y, m, d, 0, 0, 0, 0, loc) // midnight of the demo's day: the history ends there
	first := last.AddDate(0, 0, -historyDays)
	w := reportgen.World{From: first, To: last}
	type dev struct {
		reportgen.Device
		spec modelSpec
	}
	var devs []dev
	for i := range historyStores {
		id := fmt.Sprintf("s%04d", i+1)
		w.Stores = append(w.Stores, reportgen.Store{Tenant: tenant, ID: id, TimeZone: loc.String(), Name: "Acme " + chainNames[i%len(chainNames)]})
		// Installed a year before; the store's label printer model
		// alternates along the chain.
		installed := first.AddDate(-1, 0, 0)
		add := func(devID, spec string) {
			s := chainModels[spec]
			devs = append(devs, dev{reportgen.Device{Tenant: tenant, Store: id, ID: devID, Kind: s.kind, Vendor: s.vendor, Model: s.model, Installed: installed}, s})
		}
		for lane := 1; lane <= 3; lane++ {
			add(fmt.Sprintf("pos-lane%d", lane), "pos")
			add(fmt.Sprintf("receipt-lane%d", lane), "receipt")
		}
		add("pt-lane1", "terminal")
		add("receipt-service", "service")
		if i%2 == 0 {
			add("label-deli", "gk420d")
		} else {
			add("label-deli", "zd420")
		}
		add("scale-deli", "scale")
	}
	for _, d := range devs {
		w.Devices = append(w.Devices, d.Device)
	}
	pol := incident.DefaultPolicy()
	var hourSum float64
	for _, v := range hourLoad {
		hourSum += v
	}
	var daySum float64
	for _, v := range dayLoad {
		daySum += v
	}
	for day := first; day.Before(last); day = day.AddDate(0, 0, 1) {
		load := dayLoad[(int(day.Weekday())+6)%7] * 7 / daySum
		for _, d := range devs {
			// Failures per day are rare (at most a fraction of one for the
			// worst model), so one draw a day is a fair Poisson.
			if rng.Float64() >= d.spec.perMonth/30*load {
				continue
			}
			f := pick(rng, d.spec.faults)
			start := day.Add(time.Duration(pickHour(rng, hourSum))*time.Hour + time.Duration(rng.IntN(3600))*time.Second)
			// A day's wall clock is not 24 h across a DST change; the
			// hour is read in the store's zone.
			start = time.Date(day.Year(), day.Month(), day.Day(), start.Hour(), start.Minute(), start.Second(), 0, loc)
			lasted := logUniform(rng, f.min, f.max)
			if !start.Add(lasted).Before(last) {
				continue // the history holds only what ended before the demo's day
			}
			w.Episodes = append(w.Episodes, reportgen.Episode{Tenant: tenant, Store: d.Store, Device: d.ID, Code: f.code, Start: start, Duration: lasted})
			rule := pol.For(d.spec.kind, f.code)
			if lasted <= rule.HoldDown {
				continue // over before its hold-down: no ticket, as in the hub
			}
			w.Incidents = append(w.Incidents, historyIncident(rng, d.Device, d.spec.kind, f.code, start, lasted, rule.HoldDown))
		}
	}
	return w
}

// historyIncident is the ticket a failure opened: after the hold-down,
// resolved when the device recovered by itself, or for a long failure
// acknowledged by the helpdesk and closed by a technician.
func historyIncident(rng *rand.Rand, d reportgen.Device, kind string, code wire.FaultCode, start time.Time, lasted, holdDown time.Duration) incident.Incident {
	opened := start.Add(holdDown)
	p, respond, resolve := 3, 4*time.Hour, 16*time.Hour
	if kind == "payment_terminal" || kind == "pos_pc" {
		p, respond, resolve = 2, time.Hour, 8*time.Hour
	}
	inc := incident.Incident{Kind: incident.KindFault, Tenant: d.Tenant, Store: d.Store, Agent: reportgen.Agent, Device: d.ID, Fault: code,
		Priority: p, FirstSeen: start, OpenedAt: opened, ResponseDue: opened.Add(respond), ResolutionDue: opened.Add(resolve),
		State: incident.StateResolved, Resolution: incident.ResolutionRecovered, ClosedAt: start.Add(lasted), Occurrences: 1}
	if lasted > 2*time.Hour {
		inc.AcknowledgedAt = opened.Add(time.Duration(5+rng.IntN(90)) * time.Minute)
		inc.State, inc.Resolution = incident.StateClosed, incident.ResolutionClosed
	}
	return inc
}

// seedHistory writes the chain's history into the hub's store file before
// the hub opens it, once: a data directory kept from an earlier run (--data)
// has it already.
func seedHistory(path string, now time.Time, loc *time.Location) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	st, err := store.OpenBolt(path)
	if err != nil {
		return fmt.Errorf("demo: history: %w", err)
	}
	err = reportgen.Write(st, history(historySeed, now, loc), 0)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("demo: history: %w", err)
	}
	return nil
}

func pick(rng *rand.Rand, fs []faultSpec) faultSpec {
	var sum float64
	for _, f := range fs {
		sum += f.weight
	}
	x := rng.Float64() * sum
	for _, f := range fs {
		if x -= f.weight; x < 0 {
			return f
		}
	}
	return fs[len(fs)-1]
}

func pickHour(rng *rand.Rand, sum float64) int {
	x := rng.Float64() * sum
	for h, v := range hourLoad {
		if x -= v; x < 0 && v > 0 {
			return h
		}
	}
	return 19
}

// logUniform draws a length between lo and hi, most of them near lo.
func logUniform(rng *rand.Rand, lo, hi time.Duration) time.Duration {
	l, h := math.Log(float64(lo)), math.Log(float64(hi))
	return time.Duration(math.Exp(l + rng.Float64()*(h-l))).Round(time.Second)
}
