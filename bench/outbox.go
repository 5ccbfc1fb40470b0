package bench

import (
	"fmt"
)

// maxPubLines bounds the drain benchmark: Debian's mosquitto_pub 2.0.11
// in line mode (-l) at QoS 1 silently stops after about 65,535 messages of
// one session (message ids wrap; it disconnects with the rest unsent and
// exits 0), so a larger run would credit it with messages it never sent.
const maxPubLines = 50000

// RunOutbox runs the uplink package's outbox benchmarks count times: the
// append benchmark with events events, the drain with at most maxPubLines.
// It returns one row per run and the command lines.
func RunOutbox(root string, events, count int) ([]OutboxRun, []string, error) {
	app, l1, err := RunGoBench(root, "./uplink", "^BenchmarkOutboxAppend$", fmt.Sprintf("%dx", events), count)
	if err != nil {
		return nil, nil, err
	}
	drain, l2, err := RunGoBench(root, "./uplink", "^BenchmarkDrainMosquitto$", fmt.Sprintf("%dx", min(events, maxPubLines)), count)
	if err != nil {
		return nil, nil, err
	}
	if len(app) != count || len(drain) != count {
		return nil, nil, fmt.Errorf("outbox benchmarks: %d append and %d drain results, want %d each", len(app), len(drain), count)
	}
	var rows []OutboxRun
	for i := range count {
		a, d := app[i].Metrics, drain[i].Metrics
		r := OutboxRun{AppendRate: a["events/s"], FileBytes: a["file-B/event"], LiveBytes: a["live-B/event"],
			DrainRate: d["uplink-msg/s"], PubRate: d["mosquitto_pub-msg/s"], Ratio: d["ratio"]}
		if r.AppendRate == 0 || r.DrainRate == 0 || r.PubRate == 0 {
			return nil, nil, fmt.Errorf("outbox benchmarks: missing metrics (renamed?): append %v, drain %v", a, d)
		}
		rows = append(rows, r)
	}
	return rows, []string{l1, l2}, nil
}
