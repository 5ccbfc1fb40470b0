// Package toledo is the driver for scales speaking the Toledo 8213 ECR
// protocol: W answers with a weight record when the weight is valid and a
// status record otherwise, on a 7-bit line whose parity bit it checks and
// clears. See README.md.
package toledo
