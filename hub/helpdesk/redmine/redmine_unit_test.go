package redmine

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
)

// cannedRedmine answers every request with one testdata file.
func cannedRedmine(t *testing.T, file string, status int, seen *[]string) *Connector {
	t.Helper()
	body, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if seen != nil {
			*seen = append(*seen, r.URL.RequestURI())
		}
		if r.Header.Get("X-Redmine-API-Key") != "key" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	r, err := New(Config{URL: srv.URL + "/redmine/", APIKey: "key", Project: "stores", TrackerID: 1,
		CustomFields: Fields{ExternalID: 1}, Statuses: Statuses{Resolved: 3, Closed: 5, Rejected: []int{6}}, Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRedmineSearchQuery(t *testing.T) {
	var seen []string
	r := cannedRedmine(t, "search-one.json", http.StatusOK, &seen)
	tk, ok, err := r.find(context.Background(), "sw-0011223344556677889900aa")
	if err != nil || !ok || tk.ID != "2" || !strings.HasSuffix(tk.URL, "/redmine/issues/2") {
		t.Fatalf("find: %+v %v %v", tk, ok, err)
	}
	// status_id=* (closed issues too) and the exact-match operator "==", URL-encoded.
	if want := "/redmine/issues.json?cf_1=%3Dsw-0011223344556677889900aa&limit=10&sort=id&status_id=%2A"; seen[0] != want {
		t.Errorf("query %s\nwant  %s", seen[0], want)
	}
}

func TestRedmineNotFoundAndIgnoredFilter(t *testing.T) {
	r := cannedRedmine(t, "search-none.json", http.StatusOK, nil)
	if _, ok, err := r.find(context.Background(), "sw-x"); ok || err != nil {
		t.Errorf("empty search: %v %v", ok, err)
	}
	r = cannedRedmine(t, "search-ignored-filter.json", http.StatusOK, nil)
	_, _, err := r.find(context.Background(), "sw-0011223344556677889900aa")
	if !helpdesk.IsPermanent(err) || !strings.Contains(err.Error(), "Redmine ignores the filter") {
		t.Errorf("ignored filter: %v", err)
	}
}

func TestRedmineStates(t *testing.T) {
	for file, want := range map[string]helpdesk.State{"created.json": helpdesk.StateOpen, "rejected.json": helpdesk.StateRejected} {
		st, err := cannedRedmine(t, file, http.StatusOK, nil).State(context.Background(), helpdesk.Ticket{ID: "1"})
		if err != nil || st != want {
			t.Errorf("%s: %v %v, want %v", file, st, err, want)
		}
	}
	st, err := cannedRedmine(t, "search-none.json", http.StatusNotFound, nil).State(context.Background(), helpdesk.Ticket{ID: "1"})
	if err != nil || st != helpdesk.StateDeleted {
		t.Errorf("404: %v %v", st, err)
	}
	_, err = cannedRedmine(t, "search-none.json", http.StatusBadGateway, nil).State(context.Background(), helpdesk.Ticket{ID: "1"})
	if err == nil || helpdesk.IsPermanent(err) {
		t.Errorf("502 must be retried: %v", err)
	}
}

func TestRedmineRefusalIsPermanent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(`{"issues":[],"total_count":0}`))
			return
		}
		w.WriteHeader(http.StatusUnprocessableEntity)
		w.Write([]byte(`{"errors":["Tracker is not included in the list"]}`))
	}))
	defer srv.Close()
	r, _ := New(Config{URL: srv.URL, APIKey: "key", Project: "stores", TrackerID: 99, CustomFields: Fields{ExternalID: 1}, Timeout: 5 * time.Second})
	_, err := r.Open(context.Background(), helpdesk.Call{ExternalID: "sw-1", Incident: helpdesktest.Incident("1", "p", "paper_out")})
	if !helpdesk.IsPermanent(err) || !strings.Contains(err.Error(), "Tracker is not included in the list") {
		t.Errorf("422: %v", err)
	}
}
