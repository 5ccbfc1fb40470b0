// Package simtest helps the scale emulators' tests talk to an emulator over
// a real PTY, as a driver would, and compare the raw bytes it sends with the
// protocol reference. Only tests import it.
package simtest
