// Package collector polls each configured device on its own schedule and
// turns raw readings into health states.
//
// One goroutine per device probes at the device's interval (with jitter, so a
// store's devices are not all asked at once), under the device's timeout and
// holding the lock of its port. A state change needs N agreeing readings
// (debounce), so one missed poll is not an event; after start-up a grace
// period lets devices come up one by one without being reported: a fault
// still there when the grace ends is reported at the next reading, since
// its first reading (the hub counts its hold-down from the grace's end, which
// the uplink's birth tells it). Confirmed
// changes go to a Sink as wire.Event; measurements are collapsed to the
// latest value per device and sent as wire.Sample batches.
//
// The collector never decides what is worth a ticket; the hub does.
package collector
