// Package simtest serves devsim emulators for driver tests: on a PTY (the
// driver opens it as a serial port) or on a loopback TCP port, stopped when
// the test ends.
package simtest
