package all

import _ "github.com/storewatch/storewatch/drivers/snmpprinter" // printers over SNMP (HOST-RESOURCES, Printer-MIB)
