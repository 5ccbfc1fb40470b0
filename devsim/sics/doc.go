// Package sics emulates a Mettler Toledo scale speaking MT-SICS (level 0:
// I0-I5, S, SI, SIR, Z, ZI, @) over a PTY or TCP, written from the protocol
// reference (shared/reference/device-protocols.md 3.1), with faults that can
// be switched on while it runs.
package sics
