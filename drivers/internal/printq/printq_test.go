package printq

import (
	"strings"
	"testing"
	"time"

	"github.com/storewatch/storewatch/wire"
)

func TestQueueFaults(t *testing.T) {
	healthy := Queue{Accepting: true, Reasons: []string{"none"}}
	cases := []struct {
		name  string
		q     Queue
		stuck time.Duration
		want  string // codes
		says  string // in some detail
	}{
		{"healthy", healthy, time.Minute, "", ""},
		{"media empty (error suffix)", Queue{Accepting: true, Reasons: []string{"media-empty-error"}}, 0, "paper_out", "media-empty-error"},
		{"media low as a report", Queue{Accepting: true, Reasons: []string{"media-low-report"}}, 0, "paper_low", ""},
		{"out beats low", Queue{Accepting: true, Reasons: []string{"media-low", "media-needed"}}, 0, "paper_out", ""},
		{"cover open", Queue{Accepting: true, Reasons: []string{"cover-open"}}, 0, "cover_open", ""},
		{"offline", Queue{Accepting: true, Reasons: []string{"offline-report"}}, 0, "offline", ""},
		{"toner low", Queue{Accepting: true, Reasons: []string{"toner-low-warning"}}, 0, "consumable_low", ""},
		{"unknown keyword raises nothing", Queue{Accepting: true, Reasons: []string{"cups-insecure-filter-warning"}}, 0, "", ""},
		{"paused queue", Queue{Stopped: true, Accepting: true, Reasons: []string{"paused"}, Message: "closing lane"}, 0, "queue_stopped", "paused: closing lane"},
		{"stopped by a failed backend", Queue{Stopped: true, Accepting: true, Message: "Unable to connect"}, 0, "queue_stopped", "stopped: Unable to connect"},
		{"rejecting", Queue{Accepting: false}, 0, "queue_stopped", "rejecting new jobs"},
		{"marker low", Queue{Accepting: true, Markers: []Marker{{Name: "Black", Type: "toner", Level: 8, Low: 10}}}, 0, "consumable_low", "Black (toner) at 8% (low at 10%)"},
		{"marker empty", Queue{Accepting: true, Markers: []Marker{{Name: "Black", Level: 0}, {Level: 5, Low: 10}}}, 0, "consumable_out", "Black empty"},
		{"marker unknown", Queue{Accepting: true, Markers: []Marker{{Level: -1, Low: 10}, {Level: -3}}}, 0, "", ""},
		{"job young", Queue{Accepting: true, Jobs: []Job{{ID: 4, State: "processing", Age: 30 * time.Second}}}, time.Minute, "", ""},
		{"job stuck", Queue{Accepting: true, Message: "printer unavailable", Jobs: []Job{{ID: 4, State: "processing", Age: 2 * time.Minute}}}, time.Minute, "jobs_stuck", "job 4 processing for 2m0s (limit 1m0s): printer unavailable"},
		{"held job is not stuck", Queue{Accepting: true, Jobs: []Job{{ID: 5, State: "held", Age: time.Hour}}}, time.Minute, "", ""},
		{"stuck check off", Queue{Accepting: true, Jobs: []Job{{ID: 6, State: "pending", Age: time.Hour}}}, 0, "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			fs := c.q.Faults(c.stuck)
			var got []string
			var details strings.Builder
			for _, f := range fs {
				got = append(got, string(f.Code))
				details.WriteString(f.Detail + "|")
			}
			if strings.Join(got, ",") != c.want {
				t.Errorf("faults %v, want %s", got, c.want)
			}
			if c.says != "" && !strings.Contains(details.String(), c.says) {
				t.Errorf("details %q lack %q", details.String(), c.says)
			}
		})
	}
}

// Every code the table maps to exists in the vocabulary.
func TestReasonTableUsesKnownCodes(t *testing.T) {
	for k, c := range reasonFaults {
		if !c.Known() {
			t.Errorf("%s maps to unknown %s", k, c)
		}
		if wire.StateOf([]wire.Fault{wire.NewFault(c, "")}) == wire.StateUnreachable {
			t.Errorf("%s must not make a queue unreachable", k)
		}
	}
}
