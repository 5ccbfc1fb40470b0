package console

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/storewatch/storewatch/hub/api"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/query"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// PageSize is how many incidents one page lists.
const PageSize = 50

// maxPage bounds paging (the store lists at most api.MaxLimit anyway).
const maxPage = api.MaxLimit / PageSize

// IncidentQuery is the incident list's filter form, as the browser sends
// it: empty fields mean "any"; without a state field at all the list shows
// live incidents, which is what first-line support looks at.
type IncidentQuery struct {
	Tenant, Store, State, Priority, Model, Fault string
	Page                                         int
	Filter                                       store.Filter
}

// ParseIncidentQuery reads the incidents page's query. Unknown fields are
// errors, as in the API, so a mistyped link never shows everything.
func ParseIncidentQuery(q url.Values, now time.Time) (IncidentQuery, error) {
	f := IncidentQuery{Page: 1}
	vals := url.Values{}
	for k, vs := range q {
		if len(vs) != 1 {
			return f, fmt.Errorf("%s: given %d times", k, len(vs))
		}
		v := strings.TrimSpace(vs[0])
		switch k {
		case "page":
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxPage {
				return f, fmt.Errorf("page: want 1 to %d", maxPage)
			}
			f.Page = n
			continue
		case "tenant":
			f.Tenant = v
		case "store":
			f.Store = v
		case "state":
			f.State = v
		case "priority":
			f.Priority = v
		case "model":
			f.Model = v
		case "fault":
			f.Fault = v
		default:
			return f, fmt.Errorf("unknown field %q", k)
		}
		if v != "" {
			vals.Set(k, v)
		}
	}
	if _, given := q["state"]; !given {
		f.State = "live"
		vals.Set("state", "live")
	}
	var err error
	if f.Filter, err = api.ParseIncidentFilter(vals, now); err != nil {
		return f, err
	}
	f.Filter.Limit = f.Page*PageSize + 1 // one more says whether a next page exists
	return f, nil
}

// Values returns the form as a query, for paging links.
func (q IncidentQuery) Values(page int) string {
	v := url.Values{}
	for _, f := range []struct{ k, v string }{{"tenant", q.Tenant}, {"store", q.Store}, {"state", q.State}, {"priority", q.Priority}, {"model", q.Model}, {"fault", q.Fault}} {
		if f.v != "" || f.k == "state" {
			v.Set(f.k, f.v)
		}
	}
	if page > 1 {
		v.Set("page", strconv.Itoa(page))
	}
	return v.Encode()
}

// WindowForm is the maintenance page's form.
type WindowForm struct {
	Store    string // "tenant/store"
	Device   string
	Start    string // datetime-local, in the store's time zone; empty: now
	Duration string // "2h"
	Reason   string
}

// ParseWindowForm reads and checks a maintenance window from the form;
// zone gives a store's time zone, in which the start is meant.
func ParseWindowForm(f url.Values, now time.Time, who string, zone func(tenant, store string) *time.Location) (incident.Window, error) {
	w := WindowForm{Store: f.Get("store"), Device: strings.TrimSpace(f.Get("device")), Start: strings.TrimSpace(f.Get("start")),
		Duration: strings.TrimSpace(f.Get("duration")), Reason: strings.TrimSpace(f.Get("reason"))}
	tenant, st, ok := strings.Cut(w.Store, "/")
	if !ok {
		return incident.Window{}, fmt.Errorf("store: choose a store")
	}
	req := api.WindowRequest{Tenant: tenant, Store: st, Device: w.Device, Duration: w.Duration, Reason: w.Reason}
	if w.Start != "" {
		if wire.ValidateSegment(tenant) != nil || wire.ValidateSegment(st) != nil {
			return incident.Window{}, fmt.Errorf("store: %q is not a store", w.Store)
		}
		t, err := time.ParseInLocation("2006-01-02T15:04", w.Start, zone(tenant, st))
		if err != nil {
			return incident.Window{}, fmt.Errorf("start: %q is not a date and time such as 2026-11-24T22:00", w.Start)
		}
		req.Start = t.Format(time.RFC3339)
	}
	return req.Window(now, who)
}

// ParseQueryForm reads the operation of the device page's "Query now"
// form. Raw bytes are the API's business (admins only), not the console's.
func ParseQueryForm(f url.Values) (query.Body, error) {
	op := f.Get("op")
	if op == "" {
		op = wire.OpStatus
	}
	if op == wire.OpRaw {
		return query.Body{}, fmt.Errorf("op: raw queries go through the API")
	}
	return query.Body{Op: op}, query.CheckRequest(op, nil)
}

// ParseActionForm reads an incident action (acknowledge, comment, close)
// and its text.
func ParseActionForm(action string, f url.Values) (string, error) {
	switch action {
	case "acknowledge":
		return "", nil
	case "comment", "close":
		return api.CheckText(f.Get("text"), action == "comment")
	}
	return "", fmt.Errorf("no action %q", action)
}
