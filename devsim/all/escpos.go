package all

import _ "github.com/storewatch/storewatch/devsim/escpos" // ESC/POS receipt printer
