package all

import _ "github.com/storewatch/storewatch/devsim/snmpprinter" // a printer's SNMP objects, as an snmpd pass_persist helper
