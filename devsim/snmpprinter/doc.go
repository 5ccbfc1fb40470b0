// Package snmpprinter emulates a network printer's SNMP objects for
// net-snmp's snmpd, from the protocol reference, section 7: it speaks the
// pass_persist protocol (PING/PONG, get, getnext, set) on a byte stream and
// serves HOST-RESOURCES-MIB hrDeviceTable/hrPrinterTable rows and
// Printer-MIB serial number, cover status and marker supplies, with faults
// switchable at run time.
//
// snmpd runs the program in cmd/printer-mib as its pass_persist helper;
// tests switch faults by rewriting the control file that program reads
// before every request.
package snmpprinter
