// Package zvt is the driver for payment terminals (PIN pads) that speak ZVT,
// the German ECR interface (PA00P015, transport PA00P016), over TCP (port
// 20007, raw APDUs) or a serial line (9600 8N2, DLE STX framing with
// CRC-16/KERMIT and ACK/NAK).
//
// A probe sends one Status Enquiry (05 01) and maps the terminal status code
// in the completion (06 0F) to the shared payment-terminal faults. It never
// sends anything that could abort a payment: a terminal that says it is busy
// makes Probe return an error wrapping drivers.ErrBusy, and the driver then
// only closes its own connection. See README.md for the bytes and the fault
// table.
package zvt
