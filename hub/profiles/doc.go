// Package profiles is the hub's side of central device configuration:
// device profiles ("standard lane: an ESC/POS receipt printer on COM1, a
// scale on COM2 7E1, a ZVT terminal at the lane's address") defined once
// per tenant, assigned to groups of stores by patterns of store ids, with
// per-store values filled into their templates.
//
// For each agent the hub renders the profiles that apply to its store,
// checks the result with the agent configuration's own validation, and
// publishes it signed with the hub's key (like remote queries), retained
// on the agent's config channel (wire.DeviceConfig). The agent checks it
// again, applies it or keeps its last good configuration, and reports
// which in its heartbeat; the fleet view compares that with what the hub
// assigned.
package profiles
