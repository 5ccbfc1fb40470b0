package all

import _ "github.com/storewatch/storewatch/devsim/toledo"
