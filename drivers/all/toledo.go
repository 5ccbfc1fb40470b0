package all

import _ "github.com/storewatch/storewatch/drivers/toledo"
