// Package toledo emulates a scale speaking the Toledo 8213 ECR protocol
// over a PTY or TCP, written from the protocol reference
// (shared/reference/device-protocols.md 3.3): single-letter commands W, H
// and Z, a weight record when the weight is valid and a status record
// otherwise, on a 7-bit line whose parity bit it sends in bit 7.
package toledo
