// Package escpos is the driver for ESC/POS receipt printers (Epson TM and
// the many printers that copy its command set: Citizen, Bixolon, HPRT, Star
// in ESC/POS mode). It reads real-time status with DLE EOT 1..4, which
// printers answer even while offline or mid-job, and identity with GS I, over
// a serial line, TCP port 9100 or the USB printer-class device node.
//
// See README.md for the bytes, the fault mapping and vendor differences.
package escpos
