// Command devsim runs one emulated store device for manual testing: on a
// pseudo-terminal (open the printed path as a serial port) and/or on a TCP
// port. Faults are switched on and off by typing commands on stdin:
//
//	devsim escpos --tcp 127.0.0.1:9100 --pty
//	> on paper_out
//	> off paper_out
//	> list
package main
