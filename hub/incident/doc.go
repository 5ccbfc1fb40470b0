// Package incident is storehub's incident engine and the vocabulary of its
// tickets.
//
// The engine turns device health events, agent presence and store
// inventories into incidents: one open incident per fingerprint
// (tenant/store/device/fault), opened only after a per-fault hold-down, only
// while the store trades (after a power-on grace), never during a maintenance
// window and never for a device whose agent is offline (its devices go stale:
// they neither open nor resolve). Faults that clear are resolved after a
// hold-up, either closed as "recovered by itself" or only commented, by fault
// class. Flapping is summarised in one incident; a fault that keeps coming
// back opens one chronic-problem incident. Priority is impact x urgency, SLA
// due times are counted in contract hours (package sla). When the hub itself
// cannot hear its stores (its broker connection is down, or most agents go
// silent at once) it keeps one hub-level incident instead of one per store
// and decides about stores again only after a settle time (outage.go).
//
// The engine is pure state plus a clock: every method returns the Changes it
// made (incidents, timeline entries, notifications, event-log entries,
// device/agent/store records) for the caller to commit atomically, and
// NextDeadline/Tick let a loop — or a test on virtual time — drive the
// timers. See docs/hub.md for the rules in prose.
//
// The engine's parts, one file each: engine.go (the Engine, its state and
// lookups), events.go (inventories, presence, heartbeats and device events
// coming in), timers.go (Tick, deadlines, when an alert may open),
// fault.go (one alert's state machine: hold-down, hold-up, flapping),
// lifecycle.go (incidents opening, recovering, the timeline and
// notifications), facts.go (what a ticket says: the device's facts, its
// title, priority and SLA), people.go (acknowledge, comment, close),
// windows.go (maintenance windows), views.go (read-only snapshots),
// restore.go (restart from a snapshot), outage.go (the hub's own outage)
// and helpdesk.go (tickets in external helpdesks: linked, or closed there by
// a person).
package incident
