//go:build unix

package testenv

import (
	"syscall"
	"time"
)

// CPUTime is the test process's user plus system CPU time so far; zero
// where the system does not tell. Benchmarks report CPU per operation
// beside their wall-clock rates, which a busy machine (the load average)
// bends far more.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
