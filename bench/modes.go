package bench

import "time"

// Mode is one way to run the suite.
type Mode struct {
	Devices        []int         // agent footprint store sizes
	Warmup, Window time.Duration // agent footprint sampling
	Windows        int           // agent footprint windows per store size
	OutboxEvents   int           // events per outbox benchmark run
	OutboxCount    int           // runs of each outbox benchmark
	Chains         []ChainRun
	Policy         ChainPolicy
	Timing         EpisodeTiming
	Margin         time.Duration
	ConnectRate    float64
	BurstLimit     time.Duration
}

// ChainRun is one simulated chain: its size and where agents connect.
type ChainRun struct {
	Stores int
	Broker string // mosquitto or embedded
}

// Modes are the suite's modes: quick checks that the harness works and the
// tickets are right in CI; full produces docs/benchmarks.md's figures.
var Modes = map[string]Mode{
	"quick": {
		Devices: []int{10}, Warmup: 15 * time.Second, Window: 10 * time.Second, Windows: 2,
		OutboxEvents: 5000, OutboxCount: 1,
		Chains: []ChainRun{{50, "mosquitto"}, {50, "embedded"}},
		Policy: ChainPolicy{HoldDown: 4 * time.Second, HoldUp: 2 * time.Second, OfflineHoldDown: 4 * time.Second, OfflineHoldUp: 2 * time.Second, FlapThreshold: 6},
		Timing: EpisodeTiming{Long: 8 * time.Second, Short: time.Second, FlapStep: 300 * time.Millisecond, FlapChanges: 8, Spread: 3 * time.Second},
		Margin: 2 * time.Second, ConnectRate: 200, BurstLimit: time.Minute,
	},
	"full": {
		Devices: []int{10, 50, 200}, Warmup: 30 * time.Second, Window: 60 * time.Second, Windows: 5,
		OutboxEvents: 200000, OutboxCount: 3,
		Chains: []ChainRun{{1000, "mosquitto"}, {1000, "embedded"}, {10000, "mosquitto"}, {10000, "embedded"}},
		Policy: ChainPolicy{HoldDown: 10 * time.Second, HoldUp: 5 * time.Second, OfflineHoldDown: 10 * time.Second, OfflineHoldUp: 5 * time.Second, FlapThreshold: 6},
		Timing: EpisodeTiming{Long: 25 * time.Second, Short: 2500 * time.Millisecond, FlapStep: time.Second, FlapChanges: 8, Spread: 30 * time.Second},
		Margin: 5 * time.Second, ConnectRate: 500, BurstLimit: 3 * time.Minute,
	},
}

// MosquittoTuning is added to the test broker's configuration: quiet logs
// (the test default logs every packet) and room for many clients and for
// the hub's persistent session to have many messages in flight.
var MosquittoTuning = []string{
	"log_type none",
	"log_type error",
	"log_type warning",
	"max_connections -1",
	"max_inflight_messages 1000",
	"max_queued_messages 1000000",
}
