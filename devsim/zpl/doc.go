// Package zpl emulates a Zebra ZPL II label printer (a ZD420 by default)
// from the protocol reference, section 2: it answers ~HS host status,
// ~HQES errors and warnings and ~HI identity, and swallows label formats.
// Faults switch at run time, including the documented firmware behaviour of
// staying silent on ~HS during media out, ribbon out, head open and
// over-temperature.
package zpl
