// Package store is storehub's built-in ticket store: incidents with their
// timelines, the append-only event log reports read (ScanLog streams it),
// each device's install history (which model it was when, for device-months),
// the durable stream of lifecycle notifications that helpdesk connectors
// consume (with a cursor per connector), maintenance windows, and the records
// the incident engine restarts from.
//
// Store is the interface: what the hub opens and wires into its parts, each
// of which states the few methods it needs in an interface of its own. Bolt
// implements it in one bbolt file. Every engine change set is committed in
// one transaction, so a crash never leaves an incident without its timeline
// or a notification without its incident. A PostgreSQL store implements the
// same interface.
package store
