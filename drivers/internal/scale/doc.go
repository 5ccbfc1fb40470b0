// Package scale is what the retail-scale drivers (drivers/sics, drivers/nci,
// drivers/toledo) share and nothing else needs: a protocol-neutral Status
// that each driver fills from its own bytes and that becomes a Reading with
// faults from the shared vocabulary, the Motion tracker that turns "the
// weight is moving" into scale_unstable only when it persists, 7-bit line
// handling (parity in bit 7), unit conversion, the per-probe Port, and the
// transcript format the drivers' testdata uses.
//
// It lives under drivers/internal so that only drivers can use it: the scale
// emulators in devsim must not, or they would agree with the drivers' bugs.
package scale
