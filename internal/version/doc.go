// Package version holds the build's version, commit and date, stamped by the
// build with -ldflags "-X github.com/storewatch/storewatch/internal/version.Version=..."
// and falling back to what the Go toolchain recorded.
package version
