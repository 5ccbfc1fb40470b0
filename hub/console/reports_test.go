package console_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/reports/reportgen"
)

// The Reports page shows the figures of a fleet whose true answers are
// known, the four charts, and CSV downloads of each table.
func TestReportsPage(t *testing.T) {
	h, base := startHub(t, "")
	from := time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)
	to := from.AddDate(0, 0, 30)
	truth, err := reportgen.WriteFleet(h.Store, reportgen.FleetSpec{Tenant: "acme", Stores: 3, DevicesPerStore: 4, FailuresPerDevice: 2, From: from, To: to, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, base)
	b.login(viewerToken)
	q := "?from=2026-10-01&to=2026-10-31"
	resp, page := b.do("GET", "/console/reports"+q, nil)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("reports page: %d\n%s", resp.StatusCode, page)
	}
	for _, want := range []string{
		fmt.Sprintf("%d devices", truth.Devices),
		fmt.Sprintf("%d failures,", truth.Failures),
		`aria-current="page">Reports`,
		"Failures, MTBF and MTTR by model",
		"SLA compliance by priority",
		"Top chronic devices",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("reports page lacks %q", want)
		}
	}
	if n := strings.Count(page, "<svg"); n != 4 {
		t.Errorf("%d charts on the page, want 4", n)
	}

	resp, csv := b.do("GET", "/console/reports/models.csv"+q, nil)
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") || !strings.Contains(csv, "vendor") {
		t.Errorf("models.csv: %d %s\n%s", resp.StatusCode, resp.Header.Get("Content-Type"), csv)
	}
	if resp, _ := b.do("GET", "/console/reports/nope.csv"+q, nil); resp.StatusCode != http.StatusNotFound {
		t.Errorf("unknown table: %d", resp.StatusCode)
	}
	resp, page = b.do("GET", "/console/reports?from=2026-10-31&to=2026-10-01", nil)
	if resp.StatusCode != http.StatusBadRequest || !strings.Contains(page, `role="alert"`) {
		t.Errorf("reversed period: %d", resp.StatusCode)
	}
}
