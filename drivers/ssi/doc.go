// Package ssi is the driver for Zebra (Symbol) barcode scanners that speak
// SSI, the Simple Serial Interface, over RS-232 or a USB CDC serial port. A
// probe asks for the decoder's revision (REQUEST_REVISION), which proves the
// scanner is alive and gives its software revision, board type and engine
// code. It never starts a decode, beeps or changes a parameter.
package ssi
