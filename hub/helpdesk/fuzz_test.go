package helpdesk_test

import (
	"os"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/helpdesk"
	_ "github.com/storewatch/storewatch/hub/helpdesk/all"
	"github.com/storewatch/storewatch/hub/helpdesk/helpdesktest"
	"github.com/storewatch/storewatch/wire"
)

// FuzzRoutingConfig: a helpdesk section either fails to decode or validate
// with errors, or routes incidents without a panic, always to a helpdesk
// that exists.
func FuzzRoutingConfig(f *testing.F) {
	example, _ := os.ReadFile("testdata/helpdesk.yaml")
	f.Add(example)
	f.Add([]byte("routing: {rules: [{timezones: ['Europe/*'], helpdesk: none, follow_the_sun: [a]}], teams: [{name: a, timezone: UTC, hours: {mon-sun: '00:00-24:00'}}]}\noutbox: {path: x}"))
	in := helpdesktest.Incident("0042", "prn1", wire.FaultPaperOut)
	store := in
	store.Device, store.Fault = "", wire.FaultAgentOffline
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := helpdesktest.Parse(data)
		if err != nil {
			return
		}
		names := map[string]bool{helpdesk.None: true}
		for _, h := range c.Helpdesks {
			names[h.Name] = true
		}
		rt := helpdesk.NewRouter(c.Routing)
		for _, d := range []helpdesk.Destination{rt.Route(in, at), rt.Route(store, at.Add(13*time.Hour))} {
			if !names[d.Helpdesk] {
				t.Fatalf("routed to unknown helpdesk %q", d.Helpdesk)
			}
		}
	})
}
