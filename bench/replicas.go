package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub"
	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store/postgres"
	"github.com/storewatch/storewatch/internal/testkit/testenv"
)

// ReplicaSet is storehub as several replicas (docs/hub.md, "Running
// several replicas"): a private PostgreSQL 15 migrated with
// postgres.Migrate, a 3-node nats-server cluster (MQTT over JetStream), and
// `storehub serve` processes with store: postgres, broker: external over
// the three nodes and a cluster: section. It is the chain's hub in the
// replicas mode (chainHub): events applied, agents online and the
// incidents' sizes are read from the shared database, notifications from
// any live replica's API.
type ReplicaSet struct {
	PG         *testenv.Postgres
	DSN        string
	NATS       *testenv.NATS
	Hubs       []*HubProc
	Names      []string
	Partitions int
	Lease      time.Duration
	db         *pgx.Conn
	killed     map[int]bool
}

// ReplicaOptions say how to start a ReplicaSet.
type ReplicaOptions struct {
	Bin        string
	Policy     ChainPolicy
	Replicas   int
	Partitions int
	Lease      time.Duration
	SigningKey string // remote.signing_key of every replica (see HubSetup)
	// Brokers, when set, are the brokers the replicas use (one Mosquitto:
	// the replicas and the database without a broker cluster's limits);
	// otherwise a 3-node nats-server cluster is started for them.
	Brokers []string
	Log     func(format string, args ...any)
}

// ReplicaSetups are the replicas' HubSetups over dsn and the broker nodes.
func ReplicaSetups(o ReplicaOptions, dsn string, nodes []string) []HubSetup {
	var out []HubSetup
	for i := range o.Replicas {
		out = append(out, HubSetup{Bin: o.Bin, Policy: o.Policy, Externals: nodes, DSN: dsn, SigningKey: o.SigningKey,
			Cluster: &ClusterSetup{Replica: fmt.Sprintf("r%d", i+1), Partitions: o.Partitions, Lease: o.Lease}})
	}
	return out
}

// StartReplicas starts the database, the broker cluster and the replicas,
// and waits until the replicas share the partitions and each partition's
// session is subscribed (before that, the broker keeps nothing for it).
func StartReplicas(t testing.TB, o ReplicaOptions) *ReplicaSet {
	t.Helper()
	rs := &ReplicaSet{Partitions: o.Partitions, Lease: o.Lease, killed: map[int]bool{}}
	rs.PG = testenv.StartPostgres(t)
	rs.DSN = rs.PG.NewDatabase(t)
	ctx := context.Background()
	if _, err := postgres.Migrate(ctx, rs.DSN, nil); err != nil {
		t.Fatal(err)
	}
	db, err := pgx.Connect(ctx, rs.DSN)
	if err != nil {
		t.Fatal(err)
	}
	rs.db = db
	t.Cleanup(func() { db.Close(context.Background()) })
	brokers, broker := o.Brokers, fmt.Sprintf("brokers %v", o.Brokers)
	if len(brokers) == 0 {
		o.Log("replicas: PostgreSQL %s on port %d, migrated; starting a 3-node nats-server cluster", rs.pgVersion(ctx), rs.PG.Port)
		rs.NATS = testenv.StartNATS(t, 3)
		brokers, broker = rs.NATS.URLs(), "nats-server "+rs.NATS.Version()
	}
	for _, s := range ReplicaSetups(o, rs.DSN, brokers) {
		rs.Hubs = append(rs.Hubs, StartHub(t, s))
		rs.Names = append(rs.Names, s.Cluster.Replica)
	}
	o.Log("replicas: %d storehub replicas, %d partitions, lease %v, %s; waiting for them to share the partitions",
		o.Replicas, o.Partitions, o.Lease, broker)
	testenv.WaitFor(t, 2*time.Minute, "the replicas sharing the partitions, each session subscribed", func() bool {
		if err := rs.Broken(); err != nil {
			t.Fatal(err)
		}
		return rs.settled(ctx)
	})
	return rs
}

func (rs *ReplicaSet) pgVersion(ctx context.Context) string {
	var v string
	_ = rs.db.QueryRow(ctx, "SHOW server_version").Scan(&v)
	return v
}

// Holders maps each lease (the partitions, and number Partitions, the
// helpdesk delivery's) to its live holder.
func (rs *ReplicaSet) Holders(ctx context.Context) (map[int]string, error) {
	rows, err := rs.db.Query(ctx, `SELECT partition, holder FROM cluster_leases WHERE holder <> '' AND expires_at > now()`)
	if err != nil {
		return nil, fmt.Errorf("leases: %w", err)
	}
	out := map[int]string{}
	var p int
	var h string
	_, err = pgx.ForEachRow(rows, []any{&p, &h}, func() error { out[p] = h; return nil })
	return out, err
}

// settled says whether the live replicas share the partitions fairly, the
// delivery lease is held, and each partition's holder has subscribed its
// session since it took the partition.
func (rs *ReplicaSet) settled(ctx context.Context) bool {
	h, err := rs.Holders(ctx)
	if err != nil || h[rs.Partitions] == "" {
		return false
	}
	live := rs.live()
	count := map[string]int{}
	for p := range rs.Partitions {
		count[h[p]]++
	}
	for _, i := range live {
		c := count[rs.Names[i]]
		if c < rs.Partitions/len(live) || c > (rs.Partitions+len(live)-1)/len(live) {
			return false
		}
	}
	for p := range rs.Partitions {
		i := rs.index(h[p])
		if i < 0 || rs.killed[i] || !subscribedSince(rs.Hubs[i].Output(), rs.Names[i], p) {
			return false
		}
	}
	return true
}

// subscribedSince says whether a replica's log shows partition p's session
// connected since the replica last took p.
func subscribedSince(log, replica string, p int) bool {
	i := strings.LastIndex(log, fmt.Sprintf(`msg="cluster: partition taken" part=cluster replica=%s partition=%d `, replica, p))
	return i >= 0 && strings.Contains(log[i:], fmt.Sprintf("client_id=%s ", hub.PartitionClientID(replicaClientID, p)))
}

func (rs *ReplicaSet) index(name string) int {
	for i, n := range rs.Names {
		if n == name {
			return i
		}
	}
	return -1
}

func (rs *ReplicaSet) live() []int {
	var out []int
	for i := range rs.Hubs {
		if !rs.killed[i] {
			out = append(out, i)
		}
	}
	return out
}

// Kill ends replica i with SIGKILL: no lease released, nothing flushed.
func (rs *ReplicaSet) Kill(i int) {
	rs.killed[i] = true
	rs.Hubs[i].Proc.Kill()
}

// Failover kills replica i and measures the time from the kill until every
// lease it held (partitions and the delivery) is held by a live replica,
// at most limit.
func (rs *ReplicaSet) Failover(ctx context.Context, i int, limit time.Duration) (took time.Duration, moved int, err error) {
	before, err := rs.Holders(ctx)
	if err != nil {
		return 0, 0, err
	}
	var held []int
	for p, h := range before {
		if h == rs.Names[i] {
			held = append(held, p)
		}
	}
	start := time.Now()
	rs.Kill(i)
	for {
		h, err := rs.Holders(ctx)
		if err == nil {
			done := true
			for p := range rs.Partitions + 1 {
				j := rs.index(h[p])
				done = done && j >= 0 && !rs.killed[j]
			}
			if done {
				return time.Since(start), len(held), nil
			}
		}
		if time.Since(start) > limit {
			return time.Since(start), len(held), fmt.Errorf("replica %s killed: its leases %v not all held by the others after %v (holders %v)", rs.Names[i], held, limit, h)
		}
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Listening waits until no live replica has a partition waiting for the
// end of its session's backlog (storehub_cluster_partitions_listening),
// for at most limit.
func (rs *ReplicaSet) Listening(ctx context.Context, limit time.Duration) error {
	end := time.Now().Add(limit)
	for {
		c, err := rs.Counters(ctx, "storehub_cluster_partitions_listening")
		if err == nil && c["storehub_cluster_partitions_listening"] == 0 {
			return nil
		}
		if time.Now().After(end) {
			return fmt.Errorf("partitions still listening after %v: %v (%v)", limit, c, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// DeliveryHolder is the index of the replica holding the helpdesk
// delivery's lease (-1 when none does).
func (rs *ReplicaSet) DeliveryHolder(ctx context.Context) int {
	h, err := rs.Holders(ctx)
	if err != nil {
		return -1
	}
	return rs.index(h[rs.Partitions])
}

// Applied counts the state changes in the event log: the engine logs one
// for every applied device event (the partitions' ingest counters are not
// exported in cluster mode).
func (rs *ReplicaSet) Applied(ctx context.Context) (float64, error) {
	var n int64
	err := rs.db.QueryRow(ctx, `SELECT count(*) FROM event_log WHERE kind = $1`, string(incident.LogState)).Scan(&n)
	return float64(n), err
}

// OnlineAgents counts the agents online in the database (a replica's own
// agent listing is its view at start).
func (rs *ReplicaSet) OnlineAgents(ctx context.Context) (int, error) {
	var n int
	err := rs.db.QueryRow(ctx, `SELECT count(*) FROM agents WHERE (record->>'online')::boolean`).Scan(&n)
	return n, err
}

// Notifications reads the shared notification stream through the first
// live replica.
func (rs *ReplicaSet) Notifications(ctx context.Context, after uint64, limit int) ([]incident.Notification, error) {
	var errs []error
	for _, i := range rs.live() {
		ns, err := rs.Hubs[i].Notifications(ctx, after, limit)
		if err == nil {
			return ns, nil
		}
		errs = append(errs, fmt.Errorf("%s: %w", rs.Names[i], err))
	}
	return nil, errors.Join(errs...)
}

// Messages are the first live replica's storehub_messages_total (its own
// session's: the partitions' counters are not exported in cluster mode).
func (rs *ReplicaSet) Messages(ctx context.Context) map[string]float64 {
	for _, i := range rs.live() {
		return rs.Hubs[i].Messages(ctx)
	}
	return nil
}

// Counters sums the live replicas' samples (HubProc.Counters).
func (rs *ReplicaSet) Counters(ctx context.Context, prefixes ...string) (map[string]float64, error) {
	out := map[string]float64{}
	for _, i := range rs.live() {
		c, err := rs.Hubs[i].Counters(ctx, prefixes...)
		if err != nil {
			return nil, err
		}
		for k, v := range c {
			out[k] += v
		}
	}
	return out, nil
}

// HeapInUse sums the live replicas' Go heaps.
func (rs *ReplicaSet) HeapInUse(ctx context.Context) (int64, error) {
	var sum int64
	for _, i := range rs.live() {
		v, err := rs.Hubs[i].HeapInUse(ctx)
		if err != nil {
			return 0, err
		}
		sum += v
	}
	return sum, nil
}

// Broken says why a replica that was not killed is no longer running.
func (rs *ReplicaSet) Broken() error {
	for _, i := range rs.live() {
		if rs.Hubs[i].Proc.Exited() {
			return fmt.Errorf("replica %s exited:\n%s", rs.Names[i], tail(rs.Hubs[i].Proc.Output(), 4000))
		}
	}
	return nil
}

// Output is the replicas' logs, their warnings and errors.
func (rs *ReplicaSet) Output() string {
	var b strings.Builder
	for i, h := range rs.Hubs {
		var keep []string
		for _, l := range strings.Split(h.Proc.Output(), "\n") {
			if strings.Contains(l, "level=WARN") || strings.Contains(l, "level=ERROR") {
				keep = append(keep, l)
			}
		}
		fmt.Fprintf(&b, "==== %s: %d warnings and errors\n%s\n", rs.Names[i], len(keep), strings.Join(keep, "\n"))
	}
	return b.String()
}

// Procs are the replicas' pids.
func (rs *ReplicaSet) Procs() []NamedPID {
	var out []NamedPID
	for i, h := range rs.Hubs {
		out = append(out, NamedPID{rs.Names[i], h.Proc.Cmd.Process.Pid})
	}
	return out
}

// BrokerPIDs are the NATS nodes' pids (none for brokers not started here).
func (rs *ReplicaSet) BrokerPIDs() []int {
	var out []int
	for _, n := range rs.natsNodes() {
		if pid := n.PID(); pid > 0 {
			out = append(out, pid)
		}
	}
	return out
}

// PostgresCPU is the CPU time of the PostgreSQL server so far: the
// postmaster and its children (the backends of the replicas' pools, which
// live as long as their connections, the writer, the WAL writer...).
func (rs *ReplicaSet) PostgresCPU() (time.Duration, error) {
	b, err := os.ReadFile(filepath.Join(rs.PG.Dir, "data", "postmaster.pid"))
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	master, err := strconv.Atoi(strings.TrimSpace(first))
	if err != nil {
		return 0, fmt.Errorf("postmaster.pid: %w", err)
	}
	return TreeCPU(master)
}

// KeepLogs writes every replica's log and every broker node's into dir
// (created), for a look after the run: the temporary directories go with
// the test.
func (rs *ReplicaSet) KeepLogs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	for i, h := range rs.Hubs {
		errs = append(errs, os.WriteFile(filepath.Join(dir, rs.Names[i]+".log"), []byte(h.Proc.Output()), 0o644))
	}
	for _, n := range rs.natsNodes() {
		errs = append(errs, os.WriteFile(filepath.Join(dir, "nats-"+n.Name+".log"), []byte(n.Log()), 0o644))
	}
	return errors.Join(errs...)
}

// Stop ends the live replicas (SIGTERM).
func (rs *ReplicaSet) Stop() {
	for _, i := range rs.live() {
		rs.Hubs[i].Stop()
	}
}

// PGSizes are the database's bytes per incident and per event-log entry
// (pg_total_relation_size: the table, its indexes and TOAST).
type PGSizes struct {
	Incidents, LogEntries         int64
	IncidentBytes, LogBytes       int64
	PerIncident, PerLogEntry      float64
	Database                      int64 // pg_database_size
	Notifications, TimelineBytes  int64 // rows; timeline table bytes
	NotificationBytes, StateBytes int64 // notifications; stores, agents and devices
}

// Sizes reads PGSizes.
func (rs *ReplicaSet) Sizes(ctx context.Context) (PGSizes, error) {
	var s PGSizes
	err := rs.db.QueryRow(ctx, `SELECT (SELECT count(*) FROM incidents), pg_total_relation_size('incidents'),
		(SELECT count(*) FROM event_log), pg_total_relation_size('event_log'), pg_database_size(current_database()),
		(SELECT count(*) FROM notifications), pg_total_relation_size('notifications'), pg_total_relation_size('timeline'),
		pg_total_relation_size('stores') + pg_total_relation_size('agents') + pg_total_relation_size('devices')`).
		Scan(&s.Incidents, &s.IncidentBytes, &s.LogEntries, &s.LogBytes, &s.Database, &s.Notifications, &s.NotificationBytes,
			&s.TimelineBytes, &s.StateBytes)
	if err != nil {
		return s, fmt.Errorf("sizes: %w", err)
	}
	if s.Incidents > 0 {
		s.PerIncident = float64(s.IncidentBytes) / float64(s.Incidents)
	}
	if s.LogEntries > 0 {
		s.PerLogEntry = float64(s.LogBytes) / float64(s.LogEntries)
	}
	return s, nil
}

// natsNodes are the nats-server nodes started for the replicas, if any.
func (rs *ReplicaSet) natsNodes() []*testenv.NATSNode {
	if rs.NATS == nil {
		return nil
	}
	return rs.NATS.Nodes
}
