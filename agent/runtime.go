package agent

import (
	"os"
	"runtime"
	"runtime/debug"
)

// GCPercent is the agent's garbage collector target (GOGC) unless the
// environment sets one. The agent's live heap is small (well under 1 MiB
// with 50 devices) and it allocates slowly (about 60 KB/s at 50 devices
// polled every 5 s), so Go's default pacing, which lets the heap reach
// 4 MiB before collecting and then twice the live data, makes most of the
// agent's heap headroom. At 20 the heap stays near its live size and a
// collection runs every few seconds on a heap of a megabyte: measured with
// the benchmark suite, 2 MiB less RSS at 50 devices for no CPU that the
// window could tell from noise (docs/benchmarks.md). A memory limit
// (GOMEMLIMIT) was tried as well: it got lower but cost 2.5-5 % of a core
// in the collector and the scavenger, so it is left to the operator.
const GCPercent = 20

// MaxProcs is how many threads run the agent's Go code at once (GOMAXPROCS)
// unless the environment sets it. The agent waits on devices and the broker
// and computes next to nothing; with one P per core (Go's default) every
// wake-up of a goroutine also woke an idle P's thread to look for work, and
// the scheduler's spinning and hand-offs were a third of the agent's CPU at
// 50 devices (0.80 % of a core instead of 1.13-1.15 % in the same hour with
// the benchmark suite, docs/benchmarks.md). Blocking system calls (a serial
// read) still hand the P to another thread, so one is enough.
const MaxProcs = 1

// TuneRuntime sets the collector target and GOMAXPROCS for a long-running
// agent; the GOGC and GOMAXPROCS environment variables, when set, win. It
// returns the collector target in effect.
func TuneRuntime() int {
	if v, ok := os.LookupEnv("GOMAXPROCS"); !ok || v == "" {
		runtime.GOMAXPROCS(MaxProcs)
	}
	if v, ok := os.LookupEnv("GOGC"); ok && v != "" {
		old := debug.SetGCPercent(100)
		debug.SetGCPercent(old)
		return old
	}
	debug.SetGCPercent(GCPercent)
	return GCPercent
}
