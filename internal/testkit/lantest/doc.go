// Package lantest lays out a small store network on loopback for tests
// of the network scan: every 127.x.y.z is loopback on Linux, so a /29 of
// them can hold emulated devices on their real ports.
package lantest
