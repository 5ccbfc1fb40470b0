// Package postgres is storehub's store on PostgreSQL: store.Backend (and
// the helpdesk outbox's records) in tables with the indexes and constraints
// that make a shared store safe, for a hub that outgrows one machine's
// bbolt file. The embedded bbolt store stays the zero-setup default;
// hub/store/storetest holds both to the same tests.
//
// The schema is versioned (migrations/, applied by storehub migrate, see
// Migrate); Open refuses a database whose schema is older or newer than
// the build. The pool (pgx) reconnects by itself after PostgreSQL
// restarts. Commit retries until its change set is stored, so the caller's
// acknowledgement upstream waits for durability instead of failing: a
// commit whose outcome was lost with the connection carries a token, and
// the retry finds it stored rather than storing it twice. A second live
// incident for one fingerprint is refused (store.ErrConflict) by a unique
// index, whichever replica tries.
//
// PostgreSQL keeps times to the microsecond (the jsonb records keep Go's
// nanoseconds; episode starts, which the engine compares, are kept exact)
// and no NUL in text: a NUL in a device's strings is stored as U+FFFD.
package postgres
