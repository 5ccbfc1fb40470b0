package all

import _ "github.com/storewatch/storewatch/devsim/zpl" // Zebra ZPL label printer
