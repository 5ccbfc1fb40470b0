package bench

import (
	"fmt"

	"github.com/storewatch/storewatch/config"
)

// maxPubLines bounds the drain benchmark: Debian's mosquitto_pub 2.0.11
// in line mode (-l) at QoS 1 silently stops after about 65,535 messages of
// one session (message ids wrap; it disconnects with the rest unsent and
// exits 0), so a larger run would credit it with messages it never sent.
const maxPubLines = 50000

// RunOutbox runs the uplink package's outbox benchmarks count times: the
// append benchmark with events events, the drain with at most maxPubLines,
// one run of each at a time so that each row has the load average it ran
// under. It returns one row per run and the command lines.
func RunOutbox(root string, events, count int) ([]OutboxRun, []string, error) {
	var rows []OutboxRun
	var lines []string
	for i := range count {
		load := LoadAvg()
		app, l1, err := RunGoBench(root, "./uplink", "^BenchmarkOutboxAppend$", fmt.Sprintf("%dx", events), 1)
		if err != nil {
			return nil, nil, err
		}
		// The drain as agents run it: keeping the default number of sent
		// events for the hub's resend requests.
		drain, l2, err := RunGoBench(root, "./uplink", fmt.Sprintf("^BenchmarkDrainMosquitto$/^keep_sent=%d$", config.DefaultKeepSent), fmt.Sprintf("%dx", min(events, maxPubLines)), 1)
		if err != nil {
			return nil, nil, err
		}
		if len(app) != 1 || len(drain) != 1 {
			return nil, nil, fmt.Errorf("outbox benchmarks, run %d: %d append and %d drain results, want one each", i+1, len(app), len(drain))
		}
		a, d := app[0].Metrics, drain[0].Metrics
		r := OutboxRun{AppendRate: a["events/s"], FileBytes: a["file-B/event"], LiveBytes: a["live-B/event"],
			DrainRate: d["uplink-msg/s"], PubRate: d["mosquitto_pub-msg/s"], Ratio: d["ratio"], Load: load}
		if r.AppendRate == 0 || r.DrainRate == 0 || r.PubRate == 0 {
			return nil, nil, fmt.Errorf("outbox benchmarks: missing metrics (renamed?): append %v, drain %v", a, d)
		}
		rows = append(rows, r)
		if i == 0 {
			lines = []string{l1 + " (once per run)", l2 + " (once per run)"}
		}
	}
	return rows, lines, nil
}
