//go:build !linux && !windows

package usbinv

// defaultBackend elsewhere is sysfs, which works on any tree given as the
// root; without one the listing fails with a clear error.
const defaultBackend = "sysfs"
