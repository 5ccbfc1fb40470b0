// Package resend closes the gaps a broker leaves in an agent's message
// numbers. Every event and heartbeat of an agent carries the next sequence
// number; the engine keeps, per agent, the numbers skipped over
// (incident.SeqWindow). Most of them arrive late on their own (a broker's
// redelivery, an agent draining its backlog), but a broker can lose a
// message after it has acknowledged it to the agent: a node that dies, or a
// partition's session handed from a dead hub replica to the next with
// messages in flight (Debian's nats-server 2.9.10 does). The agent keeps
// its last events after delivery (outbox.keep_sent), so the Tracker asks
// it, in a signed request (wire.OpResend), to publish again the numbers
// still missing after a while: the hub's dedup takes what it already had,
// and the engine applies the rest as it would have. Numbers the agent no
// longer has are given up (SeqWindow.Gone) and never asked for again.
//
// The Tracker runs beside one ingest pipeline (the single hub's, or one
// partition's of a replica): Source is its engine, Recorder its pipeline,
// Asker the hub's query service.
package resend
