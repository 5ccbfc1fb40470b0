//go:build !linux

package uplink

// residentBytes approximates the resident set size by what the Go runtime
// holds; reading the OS's own figure would need a call per platform.
func residentBytes() uint64 { return runtimeBytes() }
