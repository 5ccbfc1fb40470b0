package all

import _ "github.com/storewatch/storewatch/drivers/escpos" // ESC/POS receipt printers
