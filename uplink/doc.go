// Package uplink is the agent's way to the hub: a bbolt outbox that holds
// every event and sample until the broker has acknowledged it, and the MQTT
// client (paho.mqtt.golang, MQTT 3.1.1) that publishes it, with birth, will,
// heartbeat, retained inventory and the remote-query command channel.
//
// It imports only wire, config and libraries; the agent wires it up:
//
//	u, err := uplink.New(uplink.Options{ID: id, Broker: cfg.Broker, Outbox: cfg.Outbox, Version: version, Logger: log})
//	u.SetInventory(inv)                // retained; republished on every connect and on change
//	u.SetCommandHandler(h)             // remote queries; without one they are answered "denied"
//	go u.Run(ctx)                      // connects, publishes, reconnects; returns when ctx ends
//	collector.New(..., u)              // *Uplink is a collector.Sink: Event, Samples
//	u.Stats()                          // for the local status page
//
// # Outbox
//
// One bbolt file (config outbox.path) with buckets "events" and
// "telemetry", keyed by the big-endian sequence number, and "meta" (the last
// sequence number, drop counters, boot table, incidents). Event and Samples
// validate and encode the message and return once it is committed: one
// writer goroutine groups everything that arrives within CommitInterval
// (250ms) into one transaction and one fsync. Sequence numbers are assigned
// in that transaction, so they are strictly increasing across restarts with
// no reuse and no gap; a new file starts at the current time in
// microseconds so a deleted outbox never reuses numbers. Each start has its
// own boot id.
//
// The outbox keeps its records under half of outbox.max_bytes (bbolt's
// MaxSize is the other half's guard) and drops records older than
// outbox.max_age. When full, telemetry goes first: it is collapsed to the
// latest value of each measurement (device and name) and the latest
// heartbeat, and only if that is not enough evicted oldest first; health
// events go only when no telemetry is left. Dropped records are counted by
// class, kept in the file and reported in every heartbeat (samples taken
// out of records that stay are counted apart, in Stats and InspectOutbox).
//
// On disk a record is its class, type, boot index and time, and the
// message body packed: the JSON wire.Encode wrote, with the strings every
// message repeats (keys, states, fault codes, kinds) as a byte or two and
// timestamps as varints (pack.go); unpacking gives the same bytes back, so
// publishing and ExportOutbox send exactly what was validated at append.
// An event takes about 100 bytes of file. A damaged file is moved aside
// as outbox.db.corrupt-YYYYMMDDTHHMMSSZ, a new one is started, and the
// incident is logged and reported in the heartbeat; a truncated file or a
// bad page never crashes the agent (the file is checked and walked
// read-only before bbolt opens it for writing). A large, mostly empty file
// is compacted at open.
//
// # Publishing
//
// Every connection is a new paho client (MemoryStore, clean session, no
// paho auto-reconnect, OrderMatters off). The uplink reconnects itself with
// exponential backoff capped at ReconnectCap (30 s) and jitter (and an
// optional random StartDelay), trying broker.urls in order; the connection
// is tied to the attempt's context, so an abandoned attempt ends at once. On every connect it publishes a retained "online"
// status with the boot id and the connection's number within the boot; the
// will is a retained "offline" with the same two, so the hub can tell the
// will of a connection already replaced (published by the broker at the
// takeover) from a real loss. A record is deleted only after its PUBACK arrived on a connection
// that was never lost in between (a connection epoch; a paho success
// across a reconnect proves nothing). Up to InFlight messages (100) await
// their PUBACK at any time: the publisher reads ahead from bbolt while
// earlier messages are acknowledged, and acknowledged records are deleted
// in groups by the writer. Records made after the connect go first; the
// backlog drains in batches of BacklogBatch at BacklogRate. A PUBACK later
// than PublishTimeout on a live connection is waited for, with a warning,
// up to StallTimeout: MQTT resends only on a new connection, and a chain's
// agents reconnecting to a busy broker make it busier. Any failure
// ends the connection, and the next one starts again from the oldest record
// left, so after the hub's dedup the order is kept.
// An event acknowledged moves to the bucket "sent", which keeps the newest
// outbox.keep_sent (2,000 by default; the first to go when the file is
// full): Resend publishes them again when the hub asks for numbers a broker
// lost after acknowledging them (wire.OpResend, hub/resend).
// Heartbeats (metrics channel: outbox depth, bytes, oldest age, drops,
// reconnects, RSS, goroutines) are recorded every HeartbeatEvery whether
// connected or not, and once at every connect, before publishing starts:
// the hub's first message after an outage says what waits and since when,
// and the heartbeats from the outage follow with the backlog.
//
// Connection failures are explained for technicians ("broker X refused the
// password for user acme-s0042", "its certificate is not signed by the CA in
// /etc/storewatch/ca.pem", "refused the client certificate ...: it expired
// on ...") in the log and Stats().LastError, while events keep buffering.
//
// # Commands
//
// Requests on the agent's cmd/req are decoded strictly (wire.Decode) off
// paho's goroutine by CommandWorkers workers; an expired request, or one
// whose header names another agent, is refused (and shown to a handler that
// is a CommandAuditor, for its audit trail); others go to the
// CommandHandler with a deadline, and the answer is
// published on cmd/res. Checking the hub's signature belongs in the handler.
// A subscription to cmd/req (or to the hub's configuration) that the broker
// refuses in its SUBACK (0x80; a NATS cluster under load does) is asked for
// again on the same connection with backoff (ResubscribeMin 15 s to
// ResubscribeMax 5 min) until the broker takes it, so the hub's queries and
// resend requests reach the agent without waiting for a reconnect.
//
// # Support
//
// InspectOutbox and ExportOutbox (JSON lines, exactly the payloads that
// would be published) read the file read-only; while the agent runs they
// return ErrInUse after the timeout, saying so.
package uplink
