package reports

import (
	"net/url"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 4, 20, 15, 4, 5, 0, time.UTC)

func TestParseFilter(t *testing.T) {
	for _, c := range []struct {
		query    string
		from, to string // RFC 3339; the default period when empty
		tenant   string
		store    string
		top      int
		err      string // part of the error, if any
	}{
		{query: "", from: "2026-03-21T15:04:05Z", to: "2026-04-20T15:04:05Z"},
		{query: "from=2026-03-01&to=2026-04-01", from: "2026-03-01T00:00:00Z", to: "2026-04-01T00:00:00Z"},
		{query: "from=2026-03-01T06:00:00%2B01:00&to=2026-03-02", from: "2026-03-01T05:00:00Z", to: "2026-03-02T00:00:00Z"},
		{query: "to=2026-04-01", from: "2026-03-02T00:00:00Z", to: "2026-04-01T00:00:00Z"},
		{query: "tenant=acme&store=s0042&top=3", from: "2026-03-21T15:04:05Z", to: "2026-04-20T15:04:05Z", tenant: "acme", store: "s0042", top: 3},
		{query: "from=yesterday", err: `from: "yesterday": want a date (2026-03-01) or an RFC 3339 time`},
		{query: "from=2026-04-01&to=2026-03-01", err: "to (2026-03-01T00:00:00Z) must be after from (2026-04-01T00:00:00Z)"},
		{query: "from=2026-03-01&to=2026-03-01", err: "must be after"},
		{query: "from=2024-01-01&to=2026-01-01", err: "the period may be at most 400 days long"},
		{query: "from=1960-01-01&to=1960-02-01", err: "the period must lie between 1970 and 2200"},
		{query: "tenant=a/b", err: "tenant: "},
		{query: "store=" + strings.Repeat("x", 200), err: "store: "},
		{query: "top=0", err: "top: want a number from 1 to 100"},
		{query: "top=101", err: "top: want a number from 1 to 100"},
		{query: "top=ten", err: "top: want a number"},
		{query: "form=2026-03-01", err: `unknown query parameter "form" (accepted: from, to, tenant, store, top)`},
		{query: "from=2026-03-01&from=2026-03-02", err: "from: given 2 times"},
	} {
		t.Run(c.query, func(t *testing.T) {
			q, err := url.ParseQuery(c.query)
			if err != nil {
				t.Fatal(err)
			}
			f, err := ParseFilter(q, now)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) {
					t.Fatalf("error %v, want one saying %q", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := f.From.Format(time.RFC3339); got != c.from {
				t.Errorf("from %s, want %s", got, c.from)
			}
			if got := f.To.Format(time.RFC3339); got != c.to {
				t.Errorf("to %s, want %s", got, c.to)
			}
			if f.Tenant != c.tenant || f.Store != c.store || f.Top != c.top || !f.Now.Equal(now) {
				t.Errorf("filter %+v", f)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{"", "from=2026-03-01&to=2026-04-01", "tenant=acme&store=s1&top=5", "from=2026-03-01T06:00:00%2B01:00",
		"to=1970-01-01", "from=9999-12-31T23:59:59Z", "top=-1", "store=%00", "from=2026-02-30"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		q, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		flt, err := ParseFilter(q, now)
		if err != nil {
			if err.Error() == "" {
				t.Fatal("an empty error message")
			}
			return
		}
		if !flt.To.After(flt.From) || flt.To.Sub(flt.From) > MaxPeriod || flt.From.Before(earliest) || flt.To.After(latest) {
			t.Fatalf("accepted a bad period: %+v", flt)
		}
		if flt.Top < 0 || flt.Top > MaxTop {
			t.Fatalf("accepted top %d", flt.Top)
		}
	})
}
