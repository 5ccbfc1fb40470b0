// Package demo is what the storewatch-demo command runs: one command that
// shows storewatch doing its job on a machine with nothing but Go.
//
// It runs, in one process and on loopback only, the hub (embedded MQTT
// broker, incident engine, ticket store, API and the console when the hub has
// one), a real storeagent (the agent package, polling through its drivers and
// publishing over MQTT with its own credentials) and a virtual store whose
// devices are devsim emulators: receipt printers on TCP 9100 and a PTY, a ZPL
// label printer, an MT-SICS scale, a ZVT payment terminal, an SSI scanner,
// POS PCs probed over TCP and the store PC's own checks. A script then plays
// a compressed store day on the emulators' fault switches (the store opens,
// paper runs out, a cover opens briefly, the payment terminal loses its host,
// a scale drifts and is overloaded, a scanner flaps) while a live ticket table
// is printed as the hub opens and resolves tickets.
//
// Time: the agent and the hub run on the real clock; the day is compressed by
// dividing every duration of both configurations (polling, grace, hold-downs,
// hold-ups, flapping and chronic windows) by the speed, so the engine makes
// exactly the decisions it would make in a real store, only sooner. The files
// in the data directory are the real-time configurations, as a store and a
// hub would have them; the compression is applied after they are loaded. The
// store's trading hours open at the minute the demo starts, in a time zone
// where it is morning, and the hub's power-on grace is stretched by the
// seconds of that minute already gone, so the grace ends exactly ten store
// minutes after the store "opens".
//
// Stopping (Close, or Ctrl-C in the command) ends the script, stops the agent
// (which says goodbye and flushes its outbox), the hub and every emulator,
// and deletes the data directory unless it was given.
package demo
