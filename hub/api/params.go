package api

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/sla"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// MaxLimit bounds any listing.
const MaxLimit = 5000

// ParseTime reads an absolute RFC 3339 time or a duration before now
// ("24h", "7d" for days).
func ParseTime(s string, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(d)
		if err != nil || n < 0 || n > 3650 {
			return time.Time{}, fmt.Errorf("%q: want days such as 7d", s)
		}
		return now.AddDate(0, 0, -n), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || d > 10*365*24*time.Hour {
		return time.Time{}, fmt.Errorf("%q: want an RFC 3339 time (2026-11-24T08:00:00Z) or a duration before now (24h, 7d)", s)
	}
	return now.Add(-d), nil
}

func segment(q url.Values, name string) (string, error) {
	v := q.Get(name)
	if v == "" {
		return "", nil
	}
	if err := wire.ValidateSegment(v); err != nil {
		return "", fmt.Errorf("%s: %v", name, err)
	}
	return v, nil
}

// segments reads several id parameters, each into its field.
func segments(q url.Values, into map[string]*string) error {
	for _, name := range []string{"tenant", "store", "device"} {
		if p, ok := into[name]; ok {
			v, err := segment(q, name)
			if err != nil {
				return err
			}
			*p = v
		}
	}
	return nil
}

func limit(q url.Values) (int, error) {
	v := q.Get("limit")
	if v == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > MaxLimit {
		return 0, fmt.Errorf("limit: want 1 to %d", MaxLimit)
	}
	return n, nil
}

// known lists the query parameters a listing accepts: an unknown one is an
// error, so a typo ("stat=open") is not silently a listing of everything.
func known(q url.Values, names ...string) error {
	for k := range q {
		ok := false
		for _, n := range names {
			ok = ok || k == n
		}
		if !ok {
			return fmt.Errorf("unknown query parameter %q (accepted: %s)", k, strings.Join(names, ", "))
		}
	}
	return nil
}

// The query parameters each listing accepts; the OpenAPI test checks the
// document lists exactly these.
var (
	incidentParams = []string{"tenant", "store", "device", "state", "priority", "model", "fault", "kind", "since", "until", "limit"}
	deviceParams   = []string{"tenant", "store", "state", "kind", "model"}
	agentParams    = []string{"tenant", "store", "online", "behind"}
	storeParams    = []string{"tenant"}
	windowParams   = []string{"tenant", "store"}
	notifyParams   = []string{"after", "limit"}
	logParams      = []string{"from", "to", "limit"}
)

// ParseIncidentFilter reads the query of GET /api/v1/incidents.
func ParseIncidentFilter(q url.Values, now time.Time) (store.Filter, error) {
	var f store.Filter
	if err := known(q, incidentParams...); err != nil {
		return f, err
	}
	err := segments(q, map[string]*string{"tenant": &f.Tenant, "store": &f.Store, "device": &f.Device})
	if err != nil {
		return f, err
	}
	switch s := q.Get("state"); s {
	case "":
	case "live":
		f.Live = true
	case string(incident.StateOpen), string(incident.StateAcknowledged), string(incident.StateResolved), string(incident.StateClosed):
		f.State = incident.State(s)
	default:
		return f, fmt.Errorf("state: %q is not open, acknowledged, resolved, closed or live", s)
	}
	if p := q.Get("priority"); p != "" {
		if f.Priority, err = sla.ParsePriority(p); err != nil {
			return f, err
		}
	}
	f.Model = q.Get("model")
	if len(f.Model) > 128 {
		return f, fmt.Errorf("model: too long")
	}
	if c := q.Get("fault"); c != "" {
		if !wire.FaultCode(c).Known() {
			return f, fmt.Errorf("fault: unknown fault code %q", c)
		}
		f.Fault = c
	}
	switch k := q.Get("kind"); k {
	case "", string(incident.KindFault), string(incident.KindAgentOffline), string(incident.KindChronic), string(incident.KindHubOutage):
		f.Kind = incident.Kind(k)
	default:
		return f, fmt.Errorf("kind: %q is not fault, agent_offline, chronic or hub_outage", k)
	}
	if f.Since, err = ParseTime(q.Get("since"), now); err != nil {
		return f, fmt.Errorf("since: %v", err)
	}
	if f.Until, err = ParseTime(q.Get("until"), now); err != nil {
		return f, fmt.Errorf("until: %v", err)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Until.After(f.Since) {
		return f, fmt.Errorf("until must be after since")
	}
	f.Limit, err = limit(q)
	return f, err
}

// DeviceFilter selects devices.
type DeviceFilter struct {
	Tenant, Store, State, Kind, Model string
}

// ParseDeviceFilter reads the query of GET /api/v1/devices.
func ParseDeviceFilter(q url.Values) (DeviceFilter, error) {
	var f DeviceFilter
	if err := known(q, deviceParams...); err != nil {
		return f, err
	}
	if err := segments(q, map[string]*string{"tenant": &f.Tenant, "store": &f.Store}); err != nil {
		return f, err
	}
	if s := q.Get("state"); s != "" {
		if !wire.HealthState(s).Valid() && s != string(wire.StateStale) {
			return f, fmt.Errorf("state: unknown state %q", s)
		}
		f.State = s
	}
	f.Kind, f.Model = q.Get("kind"), q.Get("model")
	return f, nil
}

// Match reports whether d passes the filter.
func (f DeviceFilter) Match(d incident.DeviceRecord) bool {
	return (f.Tenant == "" || d.Tenant == f.Tenant) && (f.Store == "" || d.Store == f.Store) &&
		(f.State == "" || string(d.State) == f.State) && (f.Kind == "" || d.Kind == f.Kind) &&
		(f.Model == "" || d.Identity.Model == f.Model)
}

// WindowRequest is the body of POST /api/v1/maintenance.
type WindowRequest struct {
	Tenant string `json:"tenant"`
	Store  string `json:"store"`
	Device string `json:"device,omitempty"`
	Start  string `json:"start"` // RFC 3339; empty: now
	End    string `json:"end,omitempty"`
	// Duration is an alternative to End: "2h".
	Duration string `json:"duration,omitempty"`
	Reason   string `json:"reason,omitempty"`
}

// MaxWindow bounds a maintenance window.
const MaxWindow = 31 * 24 * time.Hour

// ParseWindow reads and checks a maintenance window request.
func ParseWindow(body []byte, now time.Time, who string) (incident.Window, error) {
	var r WindowRequest
	if err := decodeStrict(body, &r); err != nil {
		return incident.Window{}, err
	}
	return r.Window(now, who)
}

// Window checks the request and returns the window it asks for; the web
// console's form fills a WindowRequest too.
func (r WindowRequest) Window(now time.Time, who string) (incident.Window, error) {
	w := incident.Window{Tenant: r.Tenant, Store: r.Store, Device: r.Device, Reason: r.Reason, CreatedBy: who}
	for _, s := range []struct{ name, v string }{{"tenant", r.Tenant}, {"store", r.Store}} {
		if err := wire.ValidateSegment(s.v); err != nil {
			return w, fmt.Errorf("%s: %v", s.name, err)
		}
	}
	if r.Device != "" {
		if err := wire.ValidateSegment(r.Device); err != nil {
			return w, fmt.Errorf("device: %v", err)
		}
	}
	if len(r.Reason) > 1000 {
		return w, fmt.Errorf("reason: longer than 1000 characters")
	}
	w.Start = now
	if r.Start != "" {
		t, err := time.Parse(time.RFC3339, r.Start)
		if err != nil {
			return w, fmt.Errorf("start: %q is not an RFC 3339 time", r.Start)
		}
		w.Start = t
	}
	switch {
	case r.End != "" && r.Duration != "":
		return w, fmt.Errorf("give end or duration, not both")
	case r.End != "":
		t, err := time.Parse(time.RFC3339, r.End)
		if err != nil {
			return w, fmt.Errorf("end: %q is not an RFC 3339 time", r.End)
		}
		w.End = t
	case r.Duration != "":
		d, err := time.ParseDuration(r.Duration)
		if err != nil || d <= 0 {
			return w, fmt.Errorf("duration: %q is not a positive duration such as 2h", r.Duration)
		}
		if d > MaxWindow {
			return w, fmt.Errorf("duration: longer than %v", MaxWindow)
		}
		w.End = w.Start.Add(d)
	default:
		return w, fmt.Errorf("give end or duration")
	}
	if !w.End.After(w.Start) {
		return w, fmt.Errorf("end must be after start")
	}
	if w.End.Sub(w.Start) > MaxWindow {
		return w, fmt.Errorf("a window may last at most %v", MaxWindow)
	}
	return w, nil
}

// TextRequest is the body of comment and close.
type TextRequest struct {
	Text string `json:"text"`
}

// ParseText reads a comment or close body; required says whether text must
// be given.
func ParseText(body []byte, required bool) (string, error) {
	var r TextRequest
	if len(body) == 0 && !required {
		return "", nil
	}
	if err := decodeStrict(body, &r); err != nil {
		return "", err
	}
	return CheckText(r.Text, required)
}

// MaxText bounds a comment.
const MaxText = 10000

// CheckText trims a comment or close text and checks it.
func CheckText(text string, required bool) (string, error) {
	text = strings.TrimSpace(text)
	if required && text == "" {
		return "", fmt.Errorf("text: required")
	}
	if len(text) > MaxText {
		return "", fmt.Errorf("text: longer than %d characters", MaxText)
	}
	return text, nil
}

func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("body: %v", err)
	}
	if dec.More() {
		return fmt.Errorf("body: trailing data after the JSON object")
	}
	return nil
}
