// Package drivertest runs a driver against its emulator for the driver's
// tests: a table of emulator faults and the fault codes the driver must make
// of them, and the common transport misbehaviours (garbage, silence, slow
// answers). Only tests import it.
package drivertest
