// Package zvt emulates a ZVT payment terminal (PT) for the status checks:
// it answers Status Enquiry (05 01) with an acknowledge and a completion
// carrying the terminal status code, over TCP (raw APDUs) or a serial line
// (DLE STX framing, CRC-16/KERMIT, ACK/NAK bytes). Written from
// shared/reference/device-protocols.md sections 5.1 and B.3, not from the
// driver.
//
// Faults: not_ready, host_unreachable, reconciliation_required,
// activation_required, hardware_fault, card_inserted (each sets the
// terminal status code), busy (a payment is running: commands are refused
// with 84 9C 00 and an abort would end the payment, which the emulator
// records), abort (the enquiry ends with Abort 06 1E 01 6C instead of the
// completion), garbage, silent, slow. Every completion and abort must be
// acknowledged by the ECR with 80 00 00; what it did instead is recorded
// (Terminal.Unacknowledged).
//
// A Diagnosis (06 70) is a long ECR transaction, the stand-in for a
// payment: acknowledge, Terminal.Steps intermediate status messages (04 FF)
// with quiet StepPause gaps, each acknowledged, then the completion.
// Anything else the line carries meanwhile is recorded
// (Terminal.Disturbed).
package zvt
