// Package netscan looks for store devices that answer on the store
// network: a TCP connect to the ports store devices listen on (9100 raw
// printing, 20007 ZVT, 3389 and 22 on POS PCs), and, for what answers, the
// read-only identity questions the drivers already ask (SNMP hrDeviceDescr
// and sysDescr, ESC/POS GS I, ZPL ~HI, a ZVT status enquiry), to guess the
// device's kind and driver and give an address to configure.
//
// A scan is bounded because the agent runs on a cashier's PC and the
// store network carries payments: networks of a /22 at most, a rate limit
// on connection attempts, a timeout for each, a few at once. Nothing is
// sent that changes a device, and addresses the agent already monitors are
// not touched at all (a raw printer serves one connection at a time).
package netscan
