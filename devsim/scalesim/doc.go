// Package scalesim is what the scale emulators (devsim/sics, devsim/nci,
// devsim/toledo) share: the load on the platter and what the display makes
// of it, the fault names, a 7-bit line that puts the parity bit into bit 7,
// and answering with the common misbehaviours (silent, slow, garbage).
//
// It knows nothing of any scale protocol; each emulator encodes its own
// answers from the protocol reference.
package scalesim
