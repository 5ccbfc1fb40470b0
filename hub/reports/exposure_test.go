package reports_test

import (
	"context"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/hub/reports"
	"github.com/storewatch/storewatch/hub/reports/reportgen"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// A store that has run for an hour (the demo's case): what the report says
// must be honest about how little it has seen. Each case is a small world
// written through the real store; its charts and models table are golden
// files.
func TestYoungInstallsAndLateIdentities(t *testing.T) {
	end := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	start := end.Add(-30 * 24 * time.Hour)
	hourAgo := end.Add(-time.Hour)
	cases := []struct {
		name  string
		world reportgen.World
		// what the models table must say, model by model
		want map[string]string
		// what the charts must say, in words
		says []string
	}{
		{
			name: "an hour of a new store",
			world: reportgen.World{
				Stores: []reportgen.Store{{Tenant: "acme", ID: "s1", TimeZone: "Europe/Berlin"}},
				Devices: []reportgen.Device{
					{Tenant: "acme", Store: "s1", ID: "printer", Kind: "receipt_printer", Vendor: "EPSON", Model: "TM-T88VI", Installed: hourAgo},
				},
				Episodes: []reportgen.Episode{
					{Tenant: "acme", Store: "s1", Device: "printer", Code: wire.FaultPaperOut, Start: hourAgo.Add(10 * time.Minute), Duration: 12 * time.Minute},
					{Tenant: "acme", Store: "s1", Device: "printer", Code: wire.FaultCoverOpen, Start: hourAgo.Add(30 * time.Minute), Duration: 3 * time.Minute},
				},
			},
			want: map[string]string{"EPSON TM-T88VI": "1 devices, 2 failures, rate none, too little exposure true, MTTR 8 min"},
			says: []string{"not yet meaningful: under 0.25 device-months installed", "8 min (2 failures)"},
		},
		{
			name: "identity read after the first failure",
			world: reportgen.World{
				Stores: []reportgen.Store{{Tenant: "acme", ID: "s1", TimeZone: "Europe/Berlin"}},
				Devices: []reportgen.Device{
					// Known to the hub without vendor or model at first (the
					// agent could not read them yet), then identified.
					{Tenant: "acme", Store: "s1", ID: "label", Kind: "label_printer", Installed: start,
						Swaps: []reportgen.Swap{{At: start.Add(24 * time.Hour), Vendor: "Zebra", Model: "ZD421"}}},
					{Tenant: "acme", Store: "s1", ID: "scale", Kind: "scale", Vendor: "Mettler Toledo", Model: "Ariva-S", Installed: start},
				},
				Episodes: []reportgen.Episode{
					{Tenant: "acme", Store: "s1", Device: "label", Code: wire.FaultPaperOut, Start: start.Add(time.Hour), Duration: 90 * time.Minute},
					{Tenant: "acme", Store: "s1", Device: "label", Code: wire.FaultPaperJam, Start: start.Add(48 * time.Hour), Duration: 30 * time.Minute},
				},
			},
			// One label printer, counted once, under the model it was
			// last seen as; the day before its identity counts as its
			// model's installed time; no "(unknown model)" row.
			want: map[string]string{
				"Zebra ZD421":            "1 devices, 2 failures, rate 2, too little exposure false, MTTR 1.0 h",
				"Mettler Toledo Ariva-S": "1 devices, 0 failures, rate 0, too little exposure false, MTTR none",
			},
			says: []string{"1.0 h (2 failures)", "2.00 a month (2 failures, 1 devices)"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := store.OpenBolt(filepath.Join(t.TempDir(), "hub.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			if err := reportgen.Write(st, c.world, 0); err != nil {
				t.Fatal(err)
			}
			r, err := reports.Compute(context.Background(), st, reports.Filter{From: start, To: end})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Models) != len(c.want) {
				t.Errorf("%d model rows, want %d: %+v", len(r.Models), len(c.want), r.Models)
			}
			devices := 0
			for _, m := range r.Models {
				devices += m.Devices
				mttr := "none"
				if m.MTTRHours != nil {
					mttr = reports.Hours(*m.MTTRHours)
				}
				got := strings.Join([]string{itoa(m.Devices) + " devices", itoa(m.Failures) + " failures", "rate " + num(m.Rate),
					"too little exposure " + boolS(m.TooLittleExposure), "MTTR " + mttr}, ", ")
				if got != c.want[m.Name()] {
					t.Errorf("%s:\n got  %s\n want %s", m.Name(), got, c.want[m.Name()])
				}
			}
			if devices != r.Totals.Devices {
				t.Errorf("the Devices column adds up to %d, the total is %d: a device counted twice", devices, r.Totals.Devices)
			}
			var all strings.Builder
			name := strings.ReplaceAll(c.name, " ", "_")
			for _, ch := range reports.Charts(r) {
				checkSVG(t, ch.Name, string(ch.SVG))
				all.WriteString(string(ch.SVG))
				golden(t, name+"_"+ch.Name+".svg", []byte(ch.SVG))
			}
			for _, s := range c.says {
				if !strings.Contains(all.String(), s) {
					t.Errorf("the charts do not say %q", s)
				}
			}
		})
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func boolS(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func TestHoursAndPeriodInWords(t *testing.T) {
	for _, c := range []struct {
		hours float64
		want  string
	}{
		{0, "under 1 min"}, {0.5 / 60, "under 1 min"}, {7.0 / 60, "7 min"}, {0.5, "30 min"}, {59.4 / 60, "59 min"},
		{1, "1.0 h"}, {2.25, "2.2 h"}, {47.9, "47.9 h"}, {72, "3.0 days"},
	} {
		if got := reports.Hours(c.hours); got != c.want {
			t.Errorf("Hours(%v) = %q, want %q", c.hours, got, c.want)
		}
	}
	d := func(s string) time.Time { return at(s) }
	for _, c := range []struct {
		from, to time.Time
		want     string
	}{
		{d("2026-11-01T00:00:00Z"), d("2026-12-01T00:00:00Z"), "1 Nov 2026 to 30 Nov 2026 (UTC)"},
		{d("2026-11-01T00:00:00Z"), d("2026-11-02T00:00:00Z"), "1 Nov 2026 (UTC)"},
		{d("2026-11-06T14:05:00Z"), d("2026-12-06T14:05:00Z"), "6 Nov 2026 14:05 to 6 Dec 2026 14:05 UTC"},
	} {
		if got := reports.Period(c.from, c.to); got != c.want {
			t.Errorf("Period(%v, %v) = %q, want %q", c.from, c.to, got, c.want)
		}
	}
}

// The console forbids inline styles (Content-Security-Policy style-src
// 'self'): a colour given as style="fill:..." is dropped, and white digits
// on the heat map's darkest cell become dark on dark.
func TestChartsColourWithoutInlineStyles(t *testing.T) {
	r := reportOf(t, 0, acme())
	for _, c := range reports.Charts(r) {
		if strings.Contains(string(c.SVG), "style=") {
			t.Errorf("%s: an inline style attribute, which the console's CSP drops", c.Name)
		}
	}
	heat := string(reports.WeekdayHourChart(r))
	if !strings.Contains(heat, `fill="#ffffff" font-size="10" font-weight="bold"`) {
		t.Errorf("the heat map's dark cells have no white digits:\n%s", heat)
	}
}
