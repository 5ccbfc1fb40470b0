// Package escpos emulates an ESC/POS receipt printer (an Epson TM-T88V by
// default) from the protocol reference, section 1: it answers DLE EOT n
// real-time status, GS I identity, GS r transmit status and GS a automatic
// status back, and swallows print data, with faults switchable at run time.
package escpos
