package hub

import (
	"log/slog"
	"runtime/debug"

	"github.com/storewatch/storewatch/config"
)

// ApplyMemoryLimit gives the Go runtime the configured soft memory limit
// (memory_limit), so that near it the heap is collected harder instead of
// growing to twice the live data as it does by default: during a chain's
// opening burst that headroom, not the data, was most of storehub's RSS.
// The GOMEMLIMIT environment variable, which the runtime applied at start,
// wins over the file. It returns the limit in force (math.MaxInt64: none)
// and says where it came from; it is for storehub serve, since the limit is
// the whole process's.
func ApplyMemoryLimit(limit config.ByteSize, lookupEnv func(string) (string, bool), log *slog.Logger) (int64, string) {
	if v, ok := lookupEnv("GOMEMLIMIT"); ok && v != "" {
		n := debug.SetMemoryLimit(-1) // read, do not change
		log.Info("memory limit from GOMEMLIMIT", "limit", v, "memory_limit", limit.String())
		return n, "GOMEMLIMIT"
	}
	if limit <= 0 {
		return debug.SetMemoryLimit(-1), "none"
	}
	debug.SetMemoryLimit(int64(limit))
	log.Info("memory limit", "memory_limit", limit.String())
	return int64(limit), "memory_limit"
}
