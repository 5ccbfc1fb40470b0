// Package snmptest runs Debian's snmpd on a loopback address for tests,
// serving the emulated printer of devsim/snmpprinter through pass_persist
// (the host-resources and printer MIBs), with its faults switched through
// a control file.
package snmptest
