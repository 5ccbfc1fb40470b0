package uplink

import "github.com/storewatch/storewatch/collector"

// The uplink is what the collector hands its events and samples to; the
// package itself does not import collector (only wire and config).
var _ collector.Sink = (*Uplink)(nil)
