// Package query asks agents for a device's live state: the hub's side of
// remote queries.
//
// Query finds the agent that owns the device in the stored inventory, fails
// fast when that agent is offline, signs a wire.CommandRequest with the hub's
// Ed25519 key (Key), publishes it on the agent's cmd/req and waits for the
// answer that ingest routes back from cmd/res by request id. It allows one
// query per device at a time and a number per device and minute, and writes
// every request, answer, refusal and timeout to the audit trail in the
// hub's store. The agent checks the same things again on its side
// (agent/remote.go): the hub's limits spare the store's devices and WAN
// link, the agent's protect it from anyone else who can write to cmd/req.
package query
