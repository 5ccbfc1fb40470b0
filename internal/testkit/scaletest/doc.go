// Package scaletest is the scale drivers' shared test kit: their transcripts
// (internal/testkit/transcript) replayed over a real PTY, and the checks
// every scale driver passes against its emulator (faults, misbehaviour,
// persistent motion, an explicit zero, the 7-bit frames' fuzzing).
//
// It lives in the test kit, not beside drivers/internal/scale, because it
// serves emulators: drivers' own packages never import devsim. Only tests
// import it.
package scaletest
