package query

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/storewatch/storewatch/wire"
)

// Line is one labelled value of an answer, for people.
type Line struct {
	Label string
	Value string
}

// Description is an answer made readable: what the CLI prints and the
// console shows.
type Description struct {
	OK       bool
	Headline string // "receipt-1 is fault" or the failure
	Code     string
	Lines    []Line
}

// Describe turns an answer into a headline and labelled lines. A result it
// cannot read is shown as JSON rather than dropped.
func Describe(a Answer) Description {
	d := Description{OK: a.OK, Code: a.Code}
	if !a.OK {
		d.Headline = a.Error
		if d.Headline == "" {
			d.Headline = a.Code
		}
		if a.Holder != nil {
			// Who has the device, first: the one thing the engineer
			// needs to know, not buried in the error text.
			d.Headline = fmt.Sprintf("%s is busy: %s", a.Device, a.Holder)
			d.Lines = append(d.Lines, Line{"In use by", strings.TrimPrefix(a.Holder.String(), "in use by ")}, Line{"Detail", a.Error})
		}
		return d
	}
	add := func(label, format string, args ...any) {
		d.Lines = append(d.Lines, Line{label, fmt.Sprintf(format, args...)})
	}
	var err error
	switch a.Op {
	case wire.OpStatus:
		var r wire.StatusResult
		if err = strictJSON(a.Result, &r); err == nil {
			d.Headline = fmt.Sprintf("%s is %s", a.Device, r.State)
			add("State", "%s", r.State)
			for _, f := range r.Faults {
				d.Lines = append(d.Lines, faultLine(f))
			}
			if r.Detail != "" {
				add("Detail", "%s", r.Detail)
			}
			if r.Identity != nil {
				d.Lines = append(d.Lines, identityLines(*r.Identity)...)
			}
			d.Lines = append(d.Lines, measurementLines(r.Measurements)...)
		}
	case wire.OpIdentify:
		var id wire.Identity
		if err = strictJSON(a.Result, &id); err == nil {
			d.Headline = fmt.Sprintf("%s says it is %s", a.Device, strings.TrimSpace(id.Vendor+" "+id.Model))
			d.Lines = identityLines(id)
		}
	case wire.OpCounters:
		var r wire.CountersResult
		if err = strictJSON(a.Result, &r); err == nil {
			d.Headline = fmt.Sprintf("counters of %s from its last poll", a.Device)
			add("State", "%s", r.State)
			if !r.LastPoll.IsZero() {
				add("Last poll", "%s", r.LastPoll.UTC().Format("2006-01-02 15:04:05 UTC"))
			}
			d.Lines = append(d.Lines, measurementLines(r.Measurements)...)
		}
	case wire.OpOperations:
		var r wire.OperationsResult
		if err = strictJSON(a.Result, &r); err == nil {
			d.Headline = fmt.Sprintf("%s allows %s", a.Device, strings.Join(r.Operations, ", "))
			add("Operations", "%s", strings.Join(r.Operations, ", "))
		}
	default:
		err = fmt.Errorf("no description for %s", a.Op)
	}
	if err != nil {
		d.Headline = fmt.Sprintf("%s answered %s", a.Device, a.Op)
		var b bytes.Buffer
		if json.Indent(&b, a.Result, "", "  ") != nil {
			b.Reset()
			b.Write(a.Result)
		}
		d.Lines = []Line{{"Result", b.String()}}
	}
	if a.RoundTripMS > 0 {
		add("Answered in", "%.0f ms (the device took %.0f ms)", a.RoundTripMS, a.DeviceMS)
	}
	return d
}

func strictJSON(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func faultLine(f wire.Fault) Line {
	v := fmt.Sprintf("%s (%s", f.Code, f.Severity)
	if f.Remedy != "" {
		v += ", remedy: " + string(f.Remedy)
	}
	v += ")"
	if info, ok := wire.Lookup(f.Code); ok {
		v += ": " + info.Meaning
	}
	if f.Detail != "" {
		v += " [" + f.Detail + "]"
	}
	return Line{"Fault", v}
}

func identityLines(id wire.Identity) []Line {
	var out []Line
	for _, l := range []Line{{"Vendor", id.Vendor}, {"Model", id.Model}, {"Serial", id.Serial}, {"Firmware", id.Firmware}} {
		if l.Value != "" {
			out = append(out, l)
		}
	}
	keys := make([]string, 0, len(id.Extra))
	for k := range id.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out = append(out, Line{k, id.Extra[k]})
	}
	return out
}

func measurementLines(m map[string]float64) []Line {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var out []Line
	for _, k := range keys {
		out = append(out, MeasurementLine(k, m[k]))
	}
	return out
}

// measurementWords label the drivers' measurement keys for people: the key
// (before a ":", which names what it is of, a disk's path or a supply) →
// the label and how the value reads.
var measurementWords = map[string]struct {
	label string
	value func(float64) string
}{
	"rtt_ms":                   {"Round trip", func(v float64) string { return fmt.Sprintf("%g ms", v) }},
	"disk_free_percent":        {"Free disk space", percent},
	"memory_available_percent": {"Available memory", percent},
	"cpu_percent":              {"Processor load", percent},
	"uptime_s": {"Running for", func(v float64) string {
		return (time.Duration(v) * time.Second).Round(time.Minute).String()
	}},
	"weight_kg":         {"Weight", func(v float64) string { return fmt.Sprintf("%g kg", v) }},
	"weight_stable":     {"Weight stable", func(v float64) string { return map[bool]string{true: "yes", false: "no"}[v != 0] }},
	"supply_percent":    {"Supply left", percent},
	"queued_jobs":       {"Jobs in the queue", plain},
	"labels_remaining":  {"Labels left", plain},
	"label_length_dots": {"Label length", func(v float64) string { return fmt.Sprintf("%g dots", v) }},
	"formats_in_buffer": {"Formats in the buffer", plain},
}

func percent(v float64) string { return fmt.Sprintf("%g %%", v) }
func plain(v float64) string   { return fmt.Sprintf("%g", v) }

// MeasurementLine says one measurement with a label and its unit:
// disk_free_percent:/var 41.5 is "Free disk space (/var)": "41.5 %". A key
// no driver documents reads as its words.
func MeasurementLine(key string, v float64) Line {
	name, of, _ := strings.Cut(key, ":")
	w, ok := measurementWords[name]
	if !ok {
		return Line{strings.ReplaceAll(key, "_", " "), plain(v)}
	}
	label := w.label
	if of != "" {
		label += " (" + of + ")"
	}
	return Line{label, w.value(v)}
}
