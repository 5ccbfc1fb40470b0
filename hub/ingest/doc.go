// Package ingest takes MQTT messages from agents into the hub.
//
// Handle checks a message before anything else sees it: the topic must be an
// agent's topic, the payload must decode strictly (wire.DecodeChannel), and
// the identity in its header must be the topic's (an agent cannot speak for
// another store by writing a different tenant/store/agent into the payload).
// Rejected messages are counted by reason and kept, bounded, for inspection.
//
// Accepted messages go to one writer goroutine (Run) that applies them to the
// incident engine in batches and commits each batch's changes to the store in
// one transaction (group commit). Handle returns only after that commit, so a
// broker acknowledges (PUBACK) a message only once it is on disk. The same
// writer runs the engine's timers and the API's incident actions, so every
// change is serialised through one place.
package ingest
