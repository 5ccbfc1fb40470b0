// Package drivers is the device contract: a driver answers one question,
// "what is the state of this device right now?", with a Reading (active
// faults from the shared vocabulary, identity, measurements). It never decides
// whether something is worth a ticket; the collector and the hub do.
//
// Each protocol lives in its own folder (drivers/escpos, drivers/netprobe,
// ...) and registers itself by name with Register from an init function, as
// Telegraf's inputs do. The agent links the set it wants through blank
// imports (see drivers/all). Drivers talk to devices through
// drivers/transport and never import MQTT, bbolt or the collector.
package drivers
