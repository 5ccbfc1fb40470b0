// Package zpl is the driver for Zebra label printers and the clones that
// speak ZPL II. It reads host status with ~HS, falls back to the ~HQES
// error/warning query when ~HS goes unanswered (current Zebra firmware stays
// silent on ~HS during media out, ribbon out, head open and over-temperature),
// and reads identity with ~HI, over TCP port 9100 or a serial line.
//
// See README.md for the bytes, the fault mapping and vendor differences.
package zpl
