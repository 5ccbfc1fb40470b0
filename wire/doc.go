// Package wire is the contract between storeagent and storehub, and the only
// package both sides import.
//
// It owns the MQTT topic tree (storewatch/v1/{tenant}/{store}/{agent}/{channel}),
// the message types carried on each channel, the vendor-neutral fault
// vocabulary with default severities and remedy classes, the device health
// states, and the store trading-hours notation. Payloads are JSON with a
// version field; Decode is strict and returns typed errors (see DecodeError)
// so a malformed or foreign message is rejected and counted, never guessed at.
// Encode writes what encoding/json's Marshal writes; the agent's hot messages
// (Event, Metrics) are appended by hand for speed, byte for byte the same
// (append.go, with a fuzz test comparing the two).
//
// Besides the MQTT messages it holds the one HTTP exchange of the contract,
// enrolment (EnrolRequest, EnrolResponse, EnrolRefusal, decoded as strictly),
// and the signed device configuration the hub sends each agent (DeviceConfig
// on the config channel).
//
// The contract is documented for humans in docs/protocol.md.
package wire
