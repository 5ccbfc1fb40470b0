package console

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
)

var now = time.Date(2026, 11, 24, 9, 0, 0, 0, time.UTC)

func TestParseIncidentQuery(t *testing.T) {
	cases := []struct {
		query, err string
		check      func(IncidentQuery) bool
	}{
		{"", "", func(q IncidentQuery) bool {
			return q.Filter.Live && q.State == "live" && q.Page == 1 && q.Filter.Limit == PageSize+1
		}},
		{"state=", "", func(q IncidentQuery) bool { return !q.Filter.Live && q.Filter.State == "" }},
		{"store=s0042&state=open&priority=P2&model=TM-T88V&fault=paper_out&page=3", "", func(q IncidentQuery) bool {
			f := q.Filter
			return f.Store == "s0042" && f.State == incident.StateOpen && f.Priority == 2 && f.Model == "TM-T88V" && f.Fault == "paper_out" &&
				q.Page == 3 && f.Limit == 3*PageSize+1
		}},
		{"store=&priority=&model=&fault=&state=live", "", func(q IncidentQuery) bool { return q.Filter.Live && q.Filter.Store == "" }},
		{"stat=open", `unknown field "stat"`, nil},
		{"page=0", "page: want 1", nil},
		{"page=x", "page: want 1", nil},
		{"fault=paper_gone", `unknown fault code "paper_gone"`, nil},
		{"store=s0042&store=s0043", "given 2 times", nil},
		{"store=a/b", "store:", nil},
		{"priority=P9", "want P1 to P5", nil},
	}
	for _, c := range cases {
		v, _ := url.ParseQuery(c.query)
		q, err := ParseIncidentQuery(v, now)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.query, err, c.err)
		case c.err == "" && (err != nil || !c.check(q)):
			t.Errorf("%q: %+v, %v", c.query, q, err)
		}
	}
	q, _ := ParseIncidentQuery(url.Values{"store": {"s0042"}, "state": {""}}, now)
	if got := q.Values(2); got != "page=2&state=&store=s0042" {
		t.Errorf("paging link %q", got)
	}
}

func TestParseWindowForm(t *testing.T) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	zone := func(string, string) *time.Location { return berlin }
	w, err := ParseWindowForm(url.Values{"store": {"acme/s0042"}, "device": {" receipt-1 "}, "start": {"2026-11-24T22:00"}, "duration": {"2h"}, "reason": {"refit"}}, now, "jane", zone)
	if err != nil {
		t.Fatal(err)
	}
	if w.Tenant != "acme" || w.Store != "s0042" || w.Device != "receipt-1" || w.CreatedBy != "jane" || w.Reason != "refit" ||
		!w.Start.Equal(time.Date(2026, 11, 24, 21, 0, 0, 0, time.UTC)) || w.End.Sub(w.Start) != 2*time.Hour {
		t.Errorf("window %+v", w)
	}
	if w, err := ParseWindowForm(url.Values{"store": {"acme/s0042"}, "duration": {"30m"}}, now, "jane", zone); err != nil || !w.Start.Equal(now) {
		t.Errorf("start now: %+v %v", w, err)
	}
	for _, bad := range []struct{ form, err string }{
		{"duration=2h", "choose a store"},
		{"store=acme/s0042", "give end or duration"},
		{"store=acme/s0042&duration=-1h", "not a positive duration"},
		{"store=acme/s0042&duration=2h&start=tomorrow", "not a date and time"},
		{"store=acme/s0042&duration=999h", "longer than"},
		{"store=acme/s0042&duration=1h&device=a b", "device:"},
		{"store=acme/s 42&duration=1h&start=2026-11-24T22:00", "not a store"},
	} {
		f, _ := url.ParseQuery(bad.form)
		if _, err := ParseWindowForm(f, now, "jane", zone); err == nil || !strings.Contains(err.Error(), bad.err) {
			t.Errorf("%s: %v, want %q", bad.form, err, bad.err)
		}
	}
}

func TestParseQueryAndActionForms(t *testing.T) {
	if b, err := ParseQueryForm(url.Values{}); err != nil || b.Op != "status" {
		t.Errorf("default: %+v %v", b, err)
	}
	for _, op := range []string{"raw", "reboot"} {
		if _, err := ParseQueryForm(url.Values{"op": {op}}); err == nil {
			t.Errorf("op %s accepted", op)
		}
	}
	if _, err := ParseActionForm("comment", url.Values{"text": {"  "}}); err == nil {
		t.Error("an empty comment was accepted")
	}
	if text, err := ParseActionForm("close", url.Values{}); err != nil || text != "" {
		t.Errorf("close without a note: %q %v", text, err)
	}
	if _, err := ParseActionForm("delete", url.Values{}); err == nil {
		t.Error("an unknown action was accepted")
	}
}

func FuzzParseIncidentQuery(f *testing.F) {
	for _, s := range []string{"", "state=", "store=s0042&state=open&priority=P2&model=TM-T88V&fault=paper_out&page=3", "page=99999", "a=%zz"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		q, err := ParseIncidentQuery(v, now)
		if err != nil {
			return
		}
		if q.Page < 1 || q.Page > maxPage || q.Filter.Limit != q.Page*PageSize+1 {
			t.Fatalf("%q: page %d, limit %d", raw, q.Page, q.Filter.Limit)
		}
		// The paging link reads back as the same filter.
		back, err := url.ParseQuery(q.Values(q.Page))
		if err != nil {
			t.Fatal(err)
		}
		again, err := ParseIncidentQuery(back, now)
		if err != nil || again.Filter != q.Filter {
			t.Fatalf("%q: paging link %q reads as %+v, %v; want %+v", raw, q.Values(q.Page), again.Filter, err, q.Filter)
		}
	})
}

func FuzzParseWindowForm(f *testing.F) {
	f.Add("store=acme/s0042&device=receipt-1&start=2026-11-24T22:00&duration=2h&reason=refit")
	f.Add("store=acme/s0042&duration=30m")
	f.Add("store=/&duration=1ns&start=0000-01-01T00:00")
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		w, err := ParseWindowForm(v, now, "jane", func(string, string) *time.Location { return time.UTC })
		if err != nil {
			return
		}
		if !w.End.After(w.Start) || w.Tenant == "" || w.Store == "" {
			t.Fatalf("%q gave %+v", raw, w)
		}
	})
}

func FuzzParseActionForm(f *testing.F) {
	f.Add("comment", "text=Paper+loaded")
	f.Add("close", "")
	f.Add("acknowledge", "text=x")
	f.Fuzz(func(t *testing.T, action, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		text, err := ParseActionForm(action, v)
		if err == nil && len(text) > 10000 {
			t.Fatalf("a %d-byte text was accepted", len(text))
		}
	})
}
