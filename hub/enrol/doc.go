// Package enrol is the hub's side of enrolment: how a store PC becomes an
// agent with one command and no long-lived secret.
//
// An admin creates an enrolment token for a tenant (CreateToken: an expiry,
// a number of uses, optionally a pattern of the stores it may enrol); the
// hub keeps only its SHA-256. storeagent enroll posts the token with the
// store id (wire.EnrolRequest) to the hub's API; Enrol checks the token in
// the same store transaction that counts its use and issues the agent its
// own broker password, of which the hub keeps only the $7$ hash, and which
// the answer (wire.EnrolResponse) carries this once. The embedded broker's
// access table and, when configured, the Mosquitto acl_file and
// password_file follow every enrolment and revocation at once; a revoked
// agent, or the old PC of a store whose agent id was enrolled again, is
// disconnected and cannot log in again. The security model is in
// docs/protocol.md, "Security model of enrolment".
package enrol
