package api

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/internal/clock"
)

var reportNow = time.Date(2026, 4, 20, 12, 0, 0, 0, time.UTC)

// reportServer serves the API over a store holding a small fleet written by
// reportgen: 4 stores of 2 devices, 2 failures each in March 2026.
func reportServer(t testing.TB) http.Handler {
	t.Helper()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	_, err = reportgen.WriteFleet(st, reportgen.FleetSpec{Tenant: "acme", Stores: 4, DevicesPerStore: 2, FailuresPerDevice: 2,
		From: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 4, 1, 0, 0, 0, 0, time.UTC), Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Options{Store: st, Clock: clock.NewFake(reportNow), Tokens: []Token{{Name: "wall", Role: "viewer", Token: viewerToken}}})
	if err != nil {
		t.Fatal(err)
	}
	return s.Handler()
}

func get(h http.Handler, path, token string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestReportAsJSON(t *testing.T) {
	h := reportServer(t)
	rec := get(h, Prefix+"/reports?from=2026-03-01&to=2026-04-01&tenant=acme", viewerToken)
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%d %s: %s", rec.Code, rec.Header().Get("Content-Type"), rec.Body)
	}
	var r reports.Report
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		t.Fatal(err)
	}
	// 8 devices through 31 days = 8.266667 device-months; 16 failures.
	if r.Totals.Devices != 8 || r.Totals.DeviceMonths != 8.266667 || r.Totals.Failures != 16 || len(r.SLA) != 5 {
		t.Errorf("totals %+v", r.Totals)
	}
	if !r.Filter.Now.Equal(reportNow) {
		t.Errorf("made at %v, want the server's now", r.Filter.Now)
	}
	// Another tenant's report is empty, not an error.
	rec = get(h, Prefix+"/reports?from=2026-03-01&to=2026-04-01&tenant=other", viewerToken)
	if rec.Code != http.StatusOK || !strings.Contains(rec.Body.String(), `"failures": 0`) {
		t.Errorf("other tenant: %d %s", rec.Code, rec.Body)
	}
}

func TestReportTablesAsCSV(t *testing.T) {
	h := reportServer(t)
	for _, table := range reports.Tables {
		t.Run(table, func(t *testing.T) {
			rec := get(h, Prefix+"/reports/"+table+".csv?from=2026-03-01&to=2026-04-01", viewerToken)
			if rec.Code != http.StatusOK {
				t.Fatalf("%d: %s", rec.Code, rec.Body)
			}
			if ct := rec.Header().Get("Content-Type"); ct != "text/csv; charset=utf-8" {
				t.Errorf("content type %q", ct)
			}
			if cd := rec.Header().Get("Content-Disposition"); cd != fmt.Sprintf(`attachment; filename="storewatch-%s-2026-03-01-2026-04-01.csv"`, table) {
				t.Errorf("content disposition %q", cd)
			}
			rows, err := csv.NewReader(rec.Body).ReadAll()
			if err != nil || len(rows) < 2 {
				t.Fatalf("%v: %q", err, rows)
			}
		})
	}
}

func TestReportRefusals(t *testing.T) {
	h := reportServer(t)
	for _, c := range []struct {
		path, token string
		status      int
		says        string
	}{
		{"/reports", "", http.StatusUnauthorized, "a bearer token is required"},
		{"/reports/models.csv", "", http.StatusUnauthorized, "a bearer token is required"},
		{"/reports?from=last+month", viewerToken, http.StatusBadRequest, `from: "last month": want a date (2026-03-01) or an RFC 3339 time`},
		{"/reports?from=2026-04-01&to=2026-03-01", viewerToken, http.StatusBadRequest, "must be after from"},
		{"/reports?from=2024-01-01&to=2026-01-01", viewerToken, http.StatusBadRequest, "at most 400 days"},
		{"/reports?tenant=a%2Fb", viewerToken, http.StatusBadRequest, "tenant: "},
		{"/reports?top=1000", viewerToken, http.StatusBadRequest, "top: want a number from 1 to 100"},
		{"/reports?limit=5", viewerToken, http.StatusBadRequest, `unknown query parameter "limit"`},
		{"/reports/models.csv?from=x", viewerToken, http.StatusBadRequest, "from: "},
		{"/reports/nope.csv", viewerToken, http.StatusNotFound, `no report table "nope.csv"; the tables are models.csv, vendors.csv`},
		{"/reports/models.json", viewerToken, http.StatusNotFound, "no report table"},
	} {
		rec := get(h, Prefix+c.path, c.token)
		var e Error
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if rec.Code != c.status || !strings.Contains(e.Error, c.says) {
			t.Errorf("%s: %d %q, want %d saying %q", c.path, rec.Code, e.Error, c.status, c.says)
		}
	}
}

// Any query gives a report or a 400 that says what is wrong; never a 500
// and never a panic.
func FuzzReportQuery(f *testing.F) {
	for _, s := range []string{"", "from=2026-03-01&to=2026-04-01", "tenant=acme&store=s00001&top=3", "from=2026-03-01T00:00:00Z",
		"to=2025-01-01", "top=0", "from=%zz", "store=", "tenant=..", "x=1"} {
		f.Add("", s)
		f.Add("models.csv", s)
	}
	h := reportServer(f)
	f.Fuzz(func(t *testing.T, file, query string) {
		u := url.URL{Path: Prefix + "/reports", RawQuery: query}
		if file != "" {
			u.Path += "/" + file
		}
		req, err := http.NewRequest("GET", u.String(), nil)
		if err != nil || req.URL.Path != u.Path || path.Clean(u.Path) != u.Path || strings.Contains(file, "/") {
			return // not one of the report routes (the mux redirects or routes it elsewhere)
		}
		req.Header.Set("Authorization", "Bearer "+viewerToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case http.StatusOK:
		case http.StatusBadRequest, http.StatusNotFound:
			var e Error
			if json.Unmarshal(rec.Body.Bytes(), &e) != nil || e.Error == "" {
				t.Fatalf("%s?%s: %d without a message: %s", u.Path, query, rec.Code, rec.Body)
			}
		default:
			t.Fatalf("%s?%s: %d %s", u.Path, query, rec.Code, rec.Body)
		}
	})
}
