// Package nci emulates a scale speaking the NCI / Weigh-Tronix ECR protocol
// (SCP-01 "NCI standard", and optionally the SCP-02 "NCI-ECR" variant of
// Mettler Toledo DIVA and Magellan scanner-scales) over a PTY or TCP. It is
// written from the protocol reference (shared/reference/device-protocols.md
// 3.2): W, H, S, Z and U commands, two or three status bytes, and a 7-bit
// line whose parity bit it sends in bit 7, since a PTY has no UART to add it.
// Config.StatusParity models scales that compute bit 7 of the status bytes
// themselves, as the status-byte table defines it ("bit 7: parity"), and
// send the rest of the frame as plain ASCII.
package nci
