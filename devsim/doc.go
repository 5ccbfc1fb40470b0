// Package devsim holds emulated store devices that speak the real protocols
// byte for byte over pseudo-terminals and TCP, with faults that can be
// switched on and off while they run. Tests, benchmarks and the demo use them
// in place of hardware.
//
// Each emulator lives in its own folder (devsim/escpos, devsim/zpl, ...) and
// is written from the protocol reference (shared/reference/device-protocols.md),
// never from the driver's code: an emulator that reused the driver's parser
// would agree with the driver's bugs instead of catching them. devsim and
// drivers never import each other.
//
// This package holds what every emulator shares: serving a Device on a PTY
// (the driver opens the slave side as a serial port) or on a TCP listener,
// the fault switchboard, and the registry the devsim command uses.
package devsim
