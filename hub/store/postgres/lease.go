package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/cluster"
)

// ErrFenced is returned by CommitFenced when the partition's lease has
// moved on: the replica lost it, and another may already own the
// partition. Nothing of the commit was stored.
var ErrFenced = errors.New("postgres: the partition's lease is no longer held (fenced)")

// Fence is what a partition's commit checks: the lease it was given.
type Fence struct {
	Partition int
	Holder    string
	Epoch     int64
}

// check locks the lease row FOR SHARE until the transaction ends, so that a
// replica taking the lease over waits for this commit, and then commits
// nothing more with the old epoch.
func (f *Fence) check(ctx context.Context, tx pgx.Tx) error {
	var one int
	err := tx.QueryRow(ctx, `SELECT 1 FROM cluster_leases WHERE partition = $1 AND holder = $2 AND epoch = $3 FOR SHARE`,
		f.Partition, f.Holder, f.Epoch).Scan(&one)
	if errors.Is(err, pgx.ErrNoRows) {
		return errPermanent{fmt.Errorf("partition %d, epoch %d: %w", f.Partition, f.Epoch, ErrFenced)}
	}
	return err
}

// Leases are the cluster's leases and members in this database.
func (s *Store) Leases() cluster.Leases { return leases{s} }

type leases struct{ s *Store }

// once runs fn once under the attempt timeout: the cluster's loop repeats
// itself, and a lease call that waited out a database outage would be
// stale when it returned.
func (l leases) once(ctx context.Context, fn func(ctx context.Context) error) error {
	ctx, cancel := context.WithTimeout(ctx, l.s.opt.AttemptTimeout)
	defer cancel()
	return fn(ctx)
}

func interval(d time.Duration) string { return fmt.Sprintf("%d microseconds", d.Microseconds()) }

func (l leases) Acquire(ctx context.Context, p int, holder string, ttl time.Duration) (cluster.Lease, bool, error) {
	start := time.Now()
	var epoch int64
	err := l.once(ctx, func(ctx context.Context) error {
		return l.s.pool.QueryRow(ctx, `
INSERT INTO cluster_leases (partition, holder, epoch, expires_at) VALUES ($1, $2, 1, now() + $3::interval)
ON CONFLICT (partition) DO UPDATE SET holder = EXCLUDED.holder, epoch = cluster_leases.epoch + 1, expires_at = EXCLUDED.expires_at
WHERE cluster_leases.holder = '' OR cluster_leases.holder = EXCLUDED.holder OR cluster_leases.expires_at < now()
RETURNING epoch`, p, holder, interval(ttl)).Scan(&epoch)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return cluster.Lease{}, false, nil
	}
	if err != nil {
		return cluster.Lease{}, false, fmt.Errorf("cluster: acquire partition %d: %w", p, err)
	}
	return cluster.Lease{Partition: p, Holder: holder, Epoch: epoch, Until: start.Add(ttl)}, true, nil
}

func (l leases) Renew(ctx context.Context, ls cluster.Lease, ttl time.Duration) (cluster.Lease, error) {
	start := time.Now()
	var one int
	err := l.once(ctx, func(ctx context.Context) error {
		return l.s.pool.QueryRow(ctx, `UPDATE cluster_leases SET expires_at = now() + $4::interval
WHERE partition = $1 AND holder = $2 AND epoch = $3 RETURNING 1`, ls.Partition, ls.Holder, ls.Epoch, interval(ttl)).Scan(&one)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return ls, fmt.Errorf("partition %d, epoch %d: %w", ls.Partition, ls.Epoch, cluster.ErrLost)
	}
	if err != nil {
		return ls, fmt.Errorf("cluster: renew partition %d: %w", ls.Partition, err)
	}
	ls.Until = start.Add(ttl)
	return ls, nil
}

func (l leases) Release(ctx context.Context, ls cluster.Lease) error {
	err := l.once(ctx, func(ctx context.Context) error {
		_, err := l.s.pool.Exec(ctx, `UPDATE cluster_leases SET holder = '', expires_at = now() WHERE partition = $1 AND holder = $2 AND epoch = $3`,
			ls.Partition, ls.Holder, ls.Epoch)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: release partition %d: %w", ls.Partition, err)
	}
	return nil
}

func (l leases) Holders(ctx context.Context) (map[int]string, error) {
	out := map[int]string{}
	err := l.once(ctx, func(ctx context.Context) error {
		rows, err := l.s.pool.Query(ctx, `SELECT partition, holder FROM cluster_leases WHERE holder <> '' AND expires_at >= now()`)
		if err != nil {
			return err
		}
		var p int
		var h string
		_, err = pgx.ForEachRow(rows, []any{&p, &h}, func() error { out[p] = h; return nil })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: leases: %w", err)
	}
	return out, nil
}

func (l leases) Heartbeat(ctx context.Context, m cluster.Member, ttl time.Duration) error {
	err := l.once(ctx, func(ctx context.Context) error {
		_, err := l.s.pool.Exec(ctx, `INSERT INTO cluster_members (replica, api_url, seen_at, expires_at) VALUES ($1, $2, now(), now() + $3::interval)
ON CONFLICT (replica) DO UPDATE SET api_url = EXCLUDED.api_url, seen_at = EXCLUDED.seen_at, expires_at = EXCLUDED.expires_at`,
			m.Replica, m.APIURL, interval(ttl))
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: heartbeat: %w", err)
	}
	return nil
}

func (l leases) Members(ctx context.Context) ([]cluster.Member, error) {
	var out []cluster.Member
	err := l.once(ctx, func(ctx context.Context) error {
		out = nil
		rows, err := l.s.pool.Query(ctx, `SELECT replica, api_url FROM cluster_members WHERE expires_at >= now() ORDER BY replica`)
		if err != nil {
			return err
		}
		var m cluster.Member
		_, err = pgx.ForEachRow(rows, []any{&m.Replica, &m.APIURL}, func() error { out = append(out, m); return nil })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cluster: members: %w", err)
	}
	return out, nil
}

func (l leases) Leave(ctx context.Context, replica string) error {
	err := l.once(ctx, func(ctx context.Context) error {
		_, err := l.s.pool.Exec(ctx, `DELETE FROM cluster_members WHERE replica = $1`, replica)
		return err
	})
	if err != nil {
		return fmt.Errorf("cluster: leave: %w", err)
	}
	return nil
}
