// Package ssi emulates a Zebra/Symbol scanner engine speaking SSI (Simple
// Serial Interface) on a serial line: it answers REQUEST_REVISION with
// REPLY_REVISION and acknowledges other host commands. Written from
// shared/reference/device-protocols.md 4.4 and B.2, not from the driver.
//
// Faults: nak (every command is refused with CMD_NAK denied), bad_checksum
// (replies carry a wrong checksum), garbage, silent, slow.
package ssi
