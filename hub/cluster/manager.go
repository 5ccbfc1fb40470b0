package cluster

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Runner runs the work of one partition (the hub: an engine, its ingest
// and its MQTT session; for the delivery lease, the helpdesk delivery).
// Run returns when ctx ends, having stopped everything it started, or
// earlier when the partition's work failed (its lease is then released, so
// that it starts again, here or elsewhere).
type Runner interface {
	Run(ctx context.Context, l Lease) error
}

// Manager holds this replica's leases and runs their partitions.
type Manager struct {
	cfg    Config
	leases Leases
	run    Runner
	log    *slog.Logger
	member Member

	mu    sync.Mutex
	owned map[int]*running
	dead  bool // Abandon: no more rounds, nothing released
}

type running struct {
	lease  Lease
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// NewManager returns a manager of cfg (checked, with defaults) over leases;
// apiURL is published with the heartbeat.
func NewManager(cfg Config, leases Leases, run Runner, log *slog.Logger) *Manager {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cfg = cfg.WithDefaults()
	return &Manager{cfg: cfg, leases: leases, run: run, log: log, member: Member{Replica: cfg.Replica, APIURL: cfg.APIURL},
		owned: map[int]*running{}}
}

// Delivery is the partition number of the helpdesk delivery's lease: one
// after the data partitions.
func (m *Manager) Delivery() int { return m.cfg.Partitions }

// Owned lists the partitions this replica runs, in order (the delivery
// lease included).
func (m *Manager) Owned() []Lease {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Lease
	for _, r := range m.owned {
		out = append(out, r.lease)
	}
	slices.SortFunc(out, func(a, b Lease) int { return a.Partition - b.Partition })
	return out
}

// Run holds leases until ctx ends; then it stops every partition, releases
// their leases (so that the other replicas take them at once, not after
// the lease) and leaves.
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.cfg.Renew)
	defer t.Stop()
	for {
		m.step(ctx)
		select {
		case <-ctx.Done():
			m.shutdown()
			return nil
		case <-t.C:
		}
	}
}

// Abandon stops every partition without releasing its lease and stops
// taking part, as a replica that dies would: for tests of takeover.
func (m *Manager) Abandon() {
	m.mu.Lock()
	m.dead = true
	owned := m.owned
	m.owned = map[int]*running{}
	m.mu.Unlock()
	for _, r := range owned {
		r.cancel()
		<-r.done
	}
}

func (m *Manager) shutdown() {
	if m.isDead() {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), m.cfg.Lease)
	defer cancel()
	for _, l := range m.Owned() {
		m.stop(ctx, l.Partition, true)
	}
	if err := m.leases.Leave(ctx, m.cfg.Replica); err != nil {
		m.log.Warn("cluster: leaving", "err", err)
	}
	m.log.Info("cluster: left; partitions released", "replica", m.cfg.Replica)
}

// step is one round: heartbeat, renew, take or give up partitions.
func (m *Manager) step(ctx context.Context) {
	if m.isDead() {
		return
	}
	if err := m.leases.Heartbeat(ctx, m.member, m.cfg.Lease); err != nil && ctx.Err() == nil {
		m.log.Warn("cluster: heartbeat failed", "err", err)
	}
	m.renew(ctx)
	if ctx.Err() != nil {
		return
	}
	members, err := m.leases.Members(ctx)
	if err != nil {
		m.log.Warn("cluster: cannot list the replicas; keeping what this one holds", "err", err)
		return
	}
	holders, err := m.leases.Holders(ctx)
	if err != nil {
		m.log.Warn("cluster: cannot list the leases; keeping what this one holds", "err", err)
		return
	}
	n := max(len(members), 1)
	if !slices.ContainsFunc(members, func(x Member) bool { return x.Replica == m.cfg.Replica }) {
		n++ // the heartbeat failed, but this replica is alive
	}
	fair := (m.cfg.Partitions + n - 1) / n
	mine := m.dataOwned()
	// Too many: give the least preferred up, so that a joining replica gets
	// its share.
	if len(mine) > fair {
		slices.SortFunc(mine, m.preferred)
		for _, p := range mine[fair:] {
			m.log.Info("cluster: giving a partition up for another replica", "partition", p, "replicas", n, "fair_share", fair)
			m.stop(ctx, p, true)
		}
		mine = mine[:fair]
	}
	var free []int
	for p := range m.cfg.Partitions {
		if _, held := holders[p]; !held && !m.has(p) {
			free = append(free, p)
		}
	}
	slices.SortFunc(free, m.preferred)
	for _, p := range free {
		if len(mine) >= fair {
			break
		}
		if m.take(ctx, p) {
			mine = append(mine, p)
		}
	}
	if _, held := holders[m.Delivery()]; !held && !m.has(m.Delivery()) {
		m.take(ctx, m.Delivery())
	}
}

// preferred orders partitions most preferred by this replica first.
func (m *Manager) preferred(a, b int) int {
	return int(int64(rank(m.cfg.Replica, b)) - int64(rank(m.cfg.Replica, a)))
}

func (m *Manager) dataOwned() []int {
	var out []int
	for _, l := range m.Owned() {
		if l.Partition < m.cfg.Partitions {
			out = append(out, l.Partition)
		}
	}
	return out
}

func (m *Manager) isDead() bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.dead
}

func (m *Manager) has(p int) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, ok := m.owned[p]
	return ok
}

// renew extends every held lease. A partition whose work ended is
// released; one whose lease is lost, or can no longer be known to be held
// (the database is away past the lease's end), is stopped at once: another
// replica may take it now.
func (m *Manager) renew(ctx context.Context) {
	m.mu.Lock()
	owned := make([]*running, 0, len(m.owned))
	for _, r := range m.owned {
		owned = append(owned, r)
	}
	m.mu.Unlock()
	for _, r := range owned {
		p := r.lease.Partition
		select {
		case <-r.done:
			m.log.Warn("cluster: a partition's work stopped; releasing it", "partition", p, "err", r.err)
			m.stop(ctx, p, true)
			continue
		default:
		}
		l, err := m.leases.Renew(ctx, r.lease, m.cfg.Lease)
		switch {
		case err == nil:
			m.mu.Lock()
			r.lease = l
			m.mu.Unlock()
		case errors.Is(err, ErrLost):
			m.log.Warn("cluster: lease lost; stopping the partition", "partition", p, "epoch", r.lease.Epoch)
			m.stop(ctx, p, false)
		case !time.Now().Before(r.lease.Until.Add(-m.cfg.Renew / 2)):
			m.log.Warn("cluster: cannot renew a lease before it ends; stopping the partition", "partition", p, "err", err)
			m.stop(ctx, p, false)
		default:
			m.log.Warn("cluster: renewing a lease failed; trying again", "partition", p, "until", r.lease.Until, "err", err)
		}
	}
}

// take acquires partition p and starts its work.
func (m *Manager) take(ctx context.Context, p int) bool {
	l, ok, err := m.leases.Acquire(ctx, p, m.cfg.Replica, m.cfg.Lease)
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("cluster: acquiring a partition failed", "partition", p, "err", err)
		}
		return false
	}
	if !ok {
		return false
	}
	rctx, cancel := context.WithCancel(ctx)
	r := &running{lease: l, cancel: cancel, done: make(chan struct{})}
	m.mu.Lock()
	m.owned[p] = r
	m.mu.Unlock()
	m.log.Info("cluster: partition taken", "partition", p, "epoch", l.Epoch)
	go func() {
		defer close(r.done)
		r.err = m.run.Run(rctx, l)
	}()
	return true
}

// stop ends partition p's work and, with release, gives its lease up.
func (m *Manager) stop(ctx context.Context, p int, release bool) {
	m.mu.Lock()
	r := m.owned[p]
	delete(m.owned, p)
	m.mu.Unlock()
	if r == nil {
		return
	}
	r.cancel()
	<-r.done
	if !release {
		return
	}
	if ctx.Err() != nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.Background(), m.cfg.Renew)
		defer cancel()
	}
	if err := m.leases.Release(ctx, r.lease); err != nil {
		m.log.Warn("cluster: releasing a partition failed; it moves when the lease ends", "partition", p, "err", err)
	}
}
