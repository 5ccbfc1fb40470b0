package cluster

import (
	"context"
	"errors"
	"time"
)

// ErrLost is returned by Renew when the lease is no longer the holder's: it
// expired and another replica took it, or it was released.
var ErrLost = errors.New("cluster: lease lost")

// Lease is one partition held by one replica. Epoch grows at every change
// of holder; the partition's commits carry it (a fence), so a replica
// that lost the lease can commit nothing more.
type Lease struct {
	Partition int
	Holder    string
	Epoch     int64
	// Until is when the holder must consider the lease gone unless renewed:
	// the holder's own clock, measured from before the call that took or
	// renewed it, so never later than the database's expiry.
	Until time.Time
}

// Member is a live replica.
type Member struct {
	Replica string
	APIURL  string // how the other replicas and operators reach its API
}

// Leases is where the leases live (the PostgreSQL store: cluster_leases
// and cluster_members). Expiry is judged by the store's clock, so the
// replicas' clocks do not matter.
type Leases interface {
	// Acquire takes partition p for holder, for ttl, when it is free,
	// expired or already holder's (a restarted replica with the same name
	// takes its partitions back at once, with a new epoch). ok is false
	// when another replica holds it.
	Acquire(ctx context.Context, p int, holder string, ttl time.Duration) (l Lease, ok bool, err error)
	// Renew extends a held lease; ErrLost when it is no longer held.
	Renew(ctx context.Context, l Lease, ttl time.Duration) (Lease, error)
	// Release gives a lease up at once.
	Release(ctx context.Context, l Lease) error
	// Holders lists the partitions' current unexpired holders.
	Holders(ctx context.Context) (map[int]string, error)
	// Heartbeat says that m is alive for ttl; Members lists the live ones.
	Heartbeat(ctx context.Context, m Member, ttl time.Duration) error
	Members(ctx context.Context) ([]Member, error)
	// Leave removes a replica that stops.
	Leave(ctx context.Context, replica string) error
}
