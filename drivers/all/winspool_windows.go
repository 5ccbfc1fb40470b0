package all

import _ "github.com/storewatch/storewatch/drivers/winspool" // printers behind the Windows print spooler
