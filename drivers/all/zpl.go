package all

import _ "github.com/storewatch/storewatch/drivers/zpl" // Zebra ZPL label printers
