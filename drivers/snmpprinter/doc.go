// Package snmpprinter is the driver for network printers (and receipt or
// label printers with a network card) that speak SNMP: HOST-RESOURCES-MIB
// device and printer status, the hrPrinterDetectedErrorState bit map,
// Printer-MIB cover status and marker supply levels, and identity from
// hrDeviceDescr, the Printer-MIB serial number and sysDescr. SNMP v1, v2c
// and v3 (USM) through github.com/gosnmp/gosnmp.
//
// See README.md for the OIDs, the fault mapping and vendor differences.
package snmpprinter
