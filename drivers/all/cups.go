package all

import _ "github.com/storewatch/storewatch/drivers/cups" // printers behind a CUPS queue (IPP)
