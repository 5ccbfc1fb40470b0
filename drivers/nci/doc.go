// Package nci is the driver for scales speaking the NCI / Weigh-Tronix ECR
// protocol (SCP-01 "NCI standard", and the SCP-02 "NCI-ECR" variant of
// Mettler Toledo DIVA and Magellan scanner-scales): W for weight and status,
// Z on explicit request, two to four status bytes, on a 7-bit line whose
// parity bit it checks and clears. See README.md.
package nci
