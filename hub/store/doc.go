// Package store is storehub's built-in ticket store: incidents with their
// timelines, the append-only event log reports read (ScanLog streams it),
// each device's install history (which model it was when, for device-months),
// the durable stream of lifecycle notifications that helpdesk connectors
// consume (with a cursor per connector), maintenance windows, and the records
// the incident engine restarts from.
//
// Store is the interface of the engine's state; Backend adds the audit
// trail and the device history, and is what the hub opens. Each part of the
// hub states the few methods it uses in an interface of its own. Bolt
// implements it in one bbolt file (the zero-setup default);
// hub/store/postgres implements it on PostgreSQL, and storetest holds both
// to one test suite. Every engine change set is
// committed in one transaction, so a crash never leaves an incident without
// its timeline or a notification without its incident. Config is the hub
// file's store: section, which chooses between them.
//
// Bolt keeps each record as JSON. The two written for every event (the
// device record and the event-log line) are encoded by hand to the same
// bytes json.Marshal writes (records.go), and pages are filled according
// to how each bucket grows (fillPercent), since storehub keeps the pages
// of the file it has mapped resident.
package store
