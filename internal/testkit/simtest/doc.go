// Package simtest serves devsim emulators for tests: on a PTY (a driver
// opens it as a serial port) or on a loopback TCP port, stopped when the
// test ends; and Open talks to one over its PTY as raw bytes, for the
// emulators' own tests to compare what they send with the protocol
// reference.
//
// It imports devsim and nothing of the drivers, so the emulators' tests can
// use it without touching driver code (docs/architecture.md). Only tests
// import it.
package simtest
