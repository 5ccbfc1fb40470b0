// Package zpl emulates a Zebra ZPL II label printer (a ZD420 by default)
// from the protocol reference, section 2: it answers ~HS host status,
// ~HQES errors and warnings and ~HI identity, and swallows label formats.
// ~HQSN (the serial number), which the reference does not cover, follows
// the ~HQ section of the Zebra Programming Guide: STX, "SERIAL NUMBER" and
// the number on lines separated by CR LF, ETX.
// Faults switch at run time, including the documented firmware behaviour of
// staying silent on ~HS during media out, ribbon out, head open and
// over-temperature.
package zpl
