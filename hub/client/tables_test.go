package client

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/wire"
)

// Opening times are said in the store's local time with its zone, on the
// hub's store clock: the rule the console follows.
func TestIncidentTimesInStoreTime(t *testing.T) {
	opened := time.Date(2026, 12, 7, 7, 18, 40, 0, time.UTC) // 08:18 in Berlin
	listing, err := json.Marshal([]incident.Incident{{ID: "INC-000001", Priority: 3, State: incident.StateOpen, Tenant: "acme", Store: "s1",
		Device: "prn1", Fault: wire.FaultPaperOut, Kind: incident.KindFault, OpenedAt: opened,
		Facts: incident.Facts{TimeZone: "Europe/Berlin", Severity: wire.SeverityError}}})
	if err != nil {
		t.Fatal(err)
	}
	demo := incident.TimeScale{Origin: opened.Add(-20 * time.Second), StoreOrigin: time.Date(2026, 12, 7, 7, 0, 0, 0, time.UTC), Speed: 60}
	for _, c := range []struct {
		name  string
		clock incident.TimeScale
		want  string
	}{
		{"a real hub", incident.TimeScale{}, "2026-12-07 08:18 CET"},
		{"the demo: 20 real seconds after its 08:00 are 08:20", demo, "2026-12-07 08:20 CET"},
	} {
		var b bytes.Buffer
		if err := PrintOnClock(&b, "incidents", listing, c.clock); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(b.String(), c.want) {
			t.Errorf("%s: want %s in\n%s", c.name, c.want, b.String())
		}
	}
}
