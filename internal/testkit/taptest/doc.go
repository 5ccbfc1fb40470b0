// Package taptest runs a serial tap (drivers/transport/tap) in tests: a
// device emulator on a pseudo-terminal as the physical port, a tap on it,
// and the virtual port a stand-in for the POS application opens, with the
// agent's dials of the port routed to the tap. Everything stops when the
// test ends.
package taptest
