// Package hub assembles storehub, the central service: the MQTT broker
// (embedded, or a connection to an external one), ingest, the incident
// engine, the ticket store and the HTTP API. Each part lives in its own
// package below hub/; this package only wires them together from the hub's
// configuration (config.Hub) and runs them until the context ends.
package hub
