// Package cluster lets several storehub replicas share the work over one
// PostgreSQL store and a broker cluster (docs/hub.md, "Running several
// replicas").
//
// The stores are divided into a fixed number of partitions (a hash of
// tenant/store, PartitionOf). Each partition is owned by one replica at a
// time through a lease row in the database (Leases) with a fencing epoch:
// the owner runs the partition's incident engine and its own persistent
// MQTT session, and every commit of that engine checks the epoch in its
// transaction, so a replica that lost the lease commits nothing more. One
// more lease, the last one, is the helpdesk delivery's: its holder follows
// the notification stream and calls the helpdesks, once.
//
// Manager holds the leases: it renews its own, takes free or expired ones
// up to its fair share among the live replicas, gives up the extra ones
// when replicas join, and stops a partition's work as soon as it can no
// longer be sure to hold its lease. What runs a partition is the hub's
// (Runner); the leases live in the store (postgres.Store.Leases).
package cluster
