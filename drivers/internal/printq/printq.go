package printq

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Queue is one print queue as the spooler sees it.
type Queue struct {
	// Stopped: the queue does not print (cupsdisable, a backend that
	// failed with the stop-printer policy, a paused Windows printer).
	Stopped bool
	// Accepting is false when the queue refuses new jobs (cupsreject).
	Accepting bool
	// Reasons are IPP printer-state-reasons keywords, with or without their
	// -report, -warning or -error suffix.
	Reasons []string
	// Message is the spooler's one-line explanation, if any.
	Message string
	Markers []Marker
	Jobs    []Job
}

// Marker is one supply (toner, ink, ribbon) with its level in percent; a
// negative level is unknown.
type Marker struct {
	Name  string
	Type  string // toner, ink, ink-cartridge, ribbon-wax, ...
	Level int
	Low   int // the level at or below which the supply is low (0: unknown)
}

// Job is a job not yet completed.
type Job struct {
	ID    int
	State string // pending, held, processing, stopped
	Age   time.Duration
}

// reasonFaults maps printer-state-reasons keywords (RFC 8011 5.4.12, PWG
// 5100.9) to the vocabulary. Keywords not listed raise nothing; they show in
// the reading's detail.
var reasonFaults = map[string]wire.FaultCode{
	"media-empty":              wire.FaultPaperOut,
	"media-needed":             wire.FaultPaperOut,
	"input-tray-missing":       wire.FaultPaperOut,
	"media-low":                wire.FaultPaperLow,
	"media-jam":                wire.FaultPaperJam,
	"cover-open":               wire.FaultCoverOpen,
	"door-open":                wire.FaultCoverOpen,
	"interlock-open":           wire.FaultCoverOpen,
	"toner-low":                wire.FaultConsumableLow,
	"marker-supply-low":        wire.FaultConsumableLow,
	"developer-low":            wire.FaultConsumableLow,
	"toner-empty":              wire.FaultConsumableOut,
	"marker-supply-empty":      wire.FaultConsumableOut,
	"developer-empty":          wire.FaultConsumableOut,
	"marker-waste-full":        wire.FaultMaintenanceDue,
	"marker-waste-almost-full": wire.FaultMaintenanceDue,
	"opc-near-eol":             wire.FaultMaintenanceDue,
	"opc-life-over":            wire.FaultConsumableOut,
	"fuser-over-temp":          wire.FaultHeadOverheat,
	"offline":                  wire.FaultOffline,
	"shutdown":                 wire.FaultOffline,
	"timed-out":                wire.FaultOffline,
	"spool-area-full":          wire.FaultBufferFull,
	"output-area-full":         wire.FaultPaperJam,
}

// BaseReason strips a keyword's severity suffix: media-empty-error is
// media-empty.
func BaseReason(r string) string {
	for _, s := range []string{"-error", "-warning", "-report"} {
		if b, ok := strings.CutSuffix(r, s); ok {
			return b
		}
	}
	return r
}

// Faults maps the queue to faults. stuckAfter is how long a job may wait
// before the queue counts as stuck (0: never).
func (q Queue) Faults(stuckAfter time.Duration) []wire.Fault {
	byCode := map[wire.FaultCode][]string{}
	add := func(c wire.FaultCode, detail string) { byCode[c] = append(byCode[c], detail) }
	paused := false
	for _, r := range q.Reasons {
		base := BaseReason(r)
		switch base {
		case "none", "":
			continue
		case "paused":
			paused = true
			continue
		}
		if c, ok := reasonFaults[base]; ok {
			add(c, r)
		}
	}
	for _, m := range q.Markers {
		switch {
		case m.Level == 0:
			add(wire.FaultConsumableOut, fmt.Sprintf("%s empty", m.label()))
		case m.Level > 0 && m.Low > 0 && m.Level <= m.Low:
			add(wire.FaultConsumableLow, fmt.Sprintf("%s at %d%% (low at %d%%)", m.label(), m.Level, m.Low))
		}
	}
	var stopped []string
	if q.Stopped || paused {
		s := "stopped"
		if paused {
			s = "paused"
		}
		if q.Message != "" {
			s += ": " + q.Message
		}
		stopped = append(stopped, s)
	}
	if !q.Accepting {
		stopped = append(stopped, "rejecting new jobs")
	}
	if len(stopped) > 0 {
		add(wire.FaultQueueStopped, strings.Join(stopped, "; "))
	}
	if stuckAfter > 0 {
		var stuck []string
		for _, j := range q.Jobs {
			if j.State != "held" && j.Age >= stuckAfter {
				stuck = append(stuck, fmt.Sprintf("job %d %s for %v", j.ID, j.State, j.Age.Round(time.Second)))
			}
		}
		if len(stuck) > 0 {
			d := fmt.Sprintf("%s (limit %v)", strings.Join(stuck, ", "), stuckAfter)
			if q.Message != "" {
				d += ": " + q.Message // what the spooler says about it, e.g. the printer unreachable
			}
			add(wire.FaultJobsStuck, d)
		}
	}
	codes := make([]string, 0, len(byCode))
	for c := range byCode {
		codes = append(codes, string(c))
	}
	sort.Strings(codes)
	out := make([]wire.Fault, 0, len(codes))
	for _, c := range codes {
		out = append(out, wire.NewFault(wire.FaultCode(c), strings.Join(byCode[wire.FaultCode(c)], "; ")))
	}
	// Out of a supply beats low on the same supply.
	if _, out1 := byCode[wire.FaultConsumableOut]; out1 {
		out = drop(out, wire.FaultConsumableLow)
	}
	if _, out1 := byCode[wire.FaultPaperOut]; out1 {
		out = drop(out, wire.FaultPaperLow)
	}
	return out
}

func (m Marker) label() string {
	switch {
	case m.Name != "" && m.Type != "":
		return m.Name + " (" + m.Type + ")"
	case m.Name != "":
		return m.Name
	case m.Type != "":
		return m.Type
	}
	return "supply"
}

func drop(fs []wire.Fault, code wire.FaultCode) []wire.Fault {
	out := fs[:0]
	for _, f := range fs {
		if f.Code != code {
			out = append(out, f)
		}
	}
	return out
}
