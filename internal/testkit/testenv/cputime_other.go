//go:build !unix

package testenv

import "time"

// CPUTime is the test process's CPU time so far; zero here, where it is not
// read.
func CPUTime() time.Duration { return 0 }
