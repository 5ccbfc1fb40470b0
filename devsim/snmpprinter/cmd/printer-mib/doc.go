// Command printer-mib is the emulated printer's pass_persist helper for
// net-snmp's snmpd:
//
//	pass_persist -p 1 .1.3.6.1.2.1.25.3 /path/printer-mib -control /path/faults
//	pass_persist -p 1 .1.3.6.1.2.1.43   /path/printer-mib -control /path/faults
//
// It speaks on stdin/stdout and never writes to stderr, which snmpd joins
// to the answer pipe. Faults are read from the control file before every
// request (one name per line; "delay 2s" sets the slow delay).
package main
