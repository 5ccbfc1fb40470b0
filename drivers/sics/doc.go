// Package sics is the driver for Mettler Toledo scales and balances speaking
// MT-SICS: it reads the identity (I0 to I4), the weight with SI, and maps the
// weight status onto the shared scale faults. See README.md for the bytes,
// the fault mapping and the serial defaults.
package sics
