package helpdesk

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func seedRedmine(f *testing.F) {
	files, _ := filepath.Glob("testdata/redmine/*.json")
	for _, p := range files {
		data, _ := os.ReadFile(p)
		f.Add(data)
	}
	f.Add([]byte(`{"issue":{"id":-1}}`))
	f.Add([]byte(`{"issues":[{"id":1,"custom_fields":[{"id":1,"value":{"x":1}}]}]}`))
}

// FuzzRedmineResponses: whatever a Redmine (or something in its place)
// answers gives an issue, a list or an error; never a panic.
func FuzzRedmineResponses(f *testing.F) {
	seedRedmine(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		if is, err := parseRedmineIssue(data); err == nil {
			if is.ID <= 0 {
				t.Fatalf("accepted issue id %d", is.ID)
			}
			for _, v := range is.CustomFields {
				_ = v.values()
			}
		}
		if list, err := parseRedmineIssues(data); err == nil {
			for _, is := range list {
				if is.ID <= 0 {
					t.Fatalf("accepted issue id %d", is.ID)
				}
				for _, v := range is.CustomFields {
					_ = v.values()
				}
			}
		}
		_ = parseRedmineErrors(data)
	})
}

// FuzzRoutingConfig: a helpdesk section either fails to decode or validate
// with errors, or routes incidents without a panic, always to a helpdesk
// that exists.
func FuzzRoutingConfig(f *testing.F) {
	example, _ := os.ReadFile("testdata/helpdesk.yaml")
	f.Add(example)
	f.Add([]byte("routing: {rules: [{timezones: ['Europe/*'], helpdesk: none, follow_the_sun: [a]}], teams: [{name: a, timezone: UTC, hours: {mon-sun: '00:00-24:00'}}]}\noutbox: {path: x}"))
	in := incident("0042", "prn1", wire.FaultPaperOut)
	store := in
	store.Device, store.Fault = "", wire.FaultAgentOffline
	at := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := decode(data)
		if err != nil || len(c.Validate()) > 0 {
			return
		}
		names := map[string]bool{None: true}
		for _, h := range c.Helpdesks {
			names[h.Name] = true
		}
		rt := NewRouter(c.Routing)
		for _, d := range []Destination{rt.Route(in, at), rt.Route(store, at.Add(13*time.Hour))} {
			if !names[d.Helpdesk] {
				t.Fatalf("routed to unknown helpdesk %q", d.Helpdesk)
			}
		}
	})
}
