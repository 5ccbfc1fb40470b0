package all

import _ "github.com/storewatch/storewatch/drivers/netprobe" // TCP, HTTP and ICMP reachability
