// Package broker connects storehub to MQTT.
//
// Embedded runs an in-process broker (mochi-mqtt) so one command runs a whole
// central site: agents authenticate with a user name and password (stored as
// Mosquitto-compatible $7$ PBKDF2-SHA512 hashes) or a client certificate, may
// publish only under their own storewatch/v1/{tenant}/{store}/{agent}/
// subtree (and only a will on their own status topic), and may subscribe only
// to their own cmd/req. Every publish reaches the ingest pipeline before the
// broker acknowledges it. With ingest's pipeline (an AsyncHandler) mochi's
// reader hands each publish over and goes back to its connection; the
// PUBACK follows the commit, in the agent's order (inOrder), and admission
// stops reading the agents while 4,096 of their messages wait for ingest,
// so that no reader waits deep in mochi's publish path (its stack would
// stay at 32 KiB; admission.go).
//
// External connects to existing brokers (Mosquitto, EMQX, HiveMQ) with a
// persistent session (CleanSession=false, a stable client id, QoS 1) and
// acknowledges a message only after ingest committed it; events and metrics
// can be shared between hub replicas with $share/<group>/. MosquittoACL and
// PasswordFile print the same rules for such a broker.
package broker
