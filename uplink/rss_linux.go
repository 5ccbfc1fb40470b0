package uplink

import (
	"bytes"
	"os"
	"strconv"
)

// residentBytes is the process's resident set size, from /proc/self/statm
// (its second field, in pages): one small read, no stop-the-world.
func residentBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return runtimeBytes()
	}
	f := bytes.Fields(b)
	if len(f) < 2 {
		return runtimeBytes()
	}
	pages, err := strconv.ParseUint(string(f[1]), 10, 64)
	if err != nil {
		return runtimeBytes()
	}
	return pages * uint64(os.Getpagesize())
}
