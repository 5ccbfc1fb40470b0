// Package collector polls each configured device on its own schedule and
// turns raw readings into health states.
//
// One scheduling goroutine keeps when each device is next due (a heap and a
// single timer) and hands each probe to a pool of workers (as many as have
// been needed at once, at most 16, each keeping its stack from probe to
// probe), under the device's timeout and holding the lock of its port. The
// first probes are spread over the interval (jitter, so a store's devices
// are not all asked at once); later ones come an interval after the last
// was due. Probes due
// within Options.Batch of the earliest run with it, a device at most half
// its interval early and a busy one never: each wake-up of the process
// costs more than a probe's own work, and probes that run together share
// it (docs/benchmarks.md, issue 20). A state change needs N agreeing readings
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
