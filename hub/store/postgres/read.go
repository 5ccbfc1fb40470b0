package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
	"github.com/storewatch/storewatch/wire"
)

// records runs a query whose only column is a jsonb record and decodes
// each row into a T.
func records[T any](ctx context.Context, q interface {
	Query(context.Context, string, ...any) (pgx.Rows, error)
}, sql string, args ...any) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []T
	for rows.Next() {
		var raw []byte
		if err := rows.Scan(&raw); err != nil {
			return nil, err
		}
		var x T
		if err := json.Unmarshal(raw, &x); err != nil {
			return nil, fmt.Errorf("a stored record: %w", err)
		}
		out = append(out, x)
	}
	return out, rows.Err()
}

// storesOf lists the stores that have a store, agent or device record and
// that mine takes, as two columns (tenant, store).
func storesOf(ctx context.Context, tx pgx.Tx, mine func(tenant, store string) bool) (tenants, stores []string, err error) {
	rows, err := tx.Query(ctx, `SELECT tenant, store FROM stores UNION SELECT tenant, store FROM agents UNION SELECT tenant, store FROM devices`)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var tenant, store string
		if err := rows.Scan(&tenant, &store); err != nil {
			return nil, nil, err
		}
		if mine(tenant, store) {
			tenants, stores = append(tenants, tenant), append(stores, store)
		}
	}
	return tenants, stores, rows.Err()
}

// Snapshot implements store.Store, in one repeatable-read transaction: the
// records are of one moment.
func (s *Store) Snapshot(window time.Duration, now time.Time) (incident.Snapshot, error) {
	return s.SnapshotOf(window, now, nil)
}

// SnapshotOf is Snapshot with the stores, agents and devices of the stores
// mine takes only (nil: all), for the engine of one partition of a cluster
// of replicas: reading and decoding every device record of the chain for
// each partition taken over was most of a takeover's wait at 10,000 stores
// (8.8 s for two partitions, docs/benchmarks.md). The stores are listed
// first (keys only), mine picks its own, and only their rows are read.
// Incidents, episodes and windows come whole: the caller sorts them.
func (s *Store) SnapshotOf(window time.Duration, now time.Time, mine func(tenant, store string) bool) (incident.Snapshot, error) {
	var snap incident.Snapshot
	cut := now.Add(-window)
	err := s.read("snapshot", func(ctx context.Context) error {
		snap = incident.Snapshot{}
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		var last int64
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(number), 0) FROM incidents`).Scan(&last); err != nil {
			return err
		}
		snap.LastID = uint64(last)
		// Every table's rows, or those of the stores mine takes.
		where, args := "", []any(nil)
		if mine != nil {
			tenants, stores, err := storesOf(ctx, tx, mine)
			if err != nil {
				return err
			}
			where, args = ` WHERE (tenant, store) IN (SELECT * FROM unnest($1::text[], $2::text[]))`, []any{tenants, stores}
		}
		if snap.Stores, err = records[incident.StoreRecord](ctx, tx, `SELECT record FROM stores`+where+` ORDER BY tenant, store`, args...); err != nil {
			return err
		}
		if snap.Agents, err = records[incident.AgentRecord](ctx, tx, `SELECT record FROM agents`+where+` ORDER BY tenant, store, agent`, args...); err != nil {
			return err
		}
		if snap.Devices, err = records[incident.DeviceRecord](ctx, tx, `SELECT record FROM devices`+where+` ORDER BY tenant, store, device`, args...); err != nil {
			return err
		}
		if snap.Windows, err = records[incident.Window](ctx, tx, `SELECT record FROM windows ORDER BY id`); err != nil {
			return err
		}
		snap.Incidents, err = records[incident.Incident](ctx, tx, `SELECT record FROM incidents
WHERE state IN ('open', 'acknowledged') OR (kind = 'chronic' AND opened_at > $1) ORDER BY number, id`, cut)
		if err != nil {
			return err
		}
		// Chronic incidents: the column keeps microseconds; the record decides.
		kept := snap.Incidents[:0]
		for _, inc := range snap.Incidents {
			if inc.State.Live() || inc.OpenedAt.After(cut) {
				kept = append(kept, inc)
			}
		}
		snap.Incidents = kept
		rows, err := tx.Query(ctx, `SELECT fingerprint, start_ns FROM episodes WHERE start_ns > $1 ORDER BY fingerprint, start_ns`, episodeNS(cut))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var key string
			var ns int64
			if err := rows.Scan(&key, &ns); err != nil {
				return err
			}
			snap.Episodes = append(snap.Episodes, incident.Episode{Key: key, Start: time.Unix(0, ns)})
		}
		return rows.Err()
	})
	return snap, err
}

// Windows lists the maintenance windows of every partition's engine, by id:
// on a cluster of replicas, a replica's own engines hold only theirs.
func (s *Store) Windows() ([]incident.Window, error) {
	var out []incident.Window
	err := s.read("windows", func(ctx context.Context) error {
		var err error
		out, err = records[incident.Window](ctx, s.pool, `SELECT record FROM windows ORDER BY id`)
		return err
	})
	return out, err
}

// Incident implements store.Store.
func (s *Store) Incident(id string) (incident.Incident, error) {
	var inc incident.Incident
	err := s.read("incident", func(ctx context.Context) error {
		var raw []byte
		if err := s.pool.QueryRow(ctx, `SELECT record FROM incidents WHERE id = $1`, text(id)).Scan(&raw); err != nil {
			return err
		}
		return json.Unmarshal(raw, &inc)
	})
	if errors.Is(err, pgx.ErrNoRows) {
		return inc, fmt.Errorf("incident %q: %w", id, store.ErrNotFound)
	}
	return inc, err
}

// Incidents implements store.Store.
func (s *Store) Incidents(f store.Filter) ([]incident.Incident, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var where []string
	var args []any
	add := func(cond string, v any) {
		args = append(args, v)
		where = append(where, strings.ReplaceAll(cond, "$", "$"+strconv.Itoa(len(args))))
	}
	if f.Tenant != "" {
		add("tenant = $", text(f.Tenant))
	}
	if f.Store != "" {
		add("store = $", text(f.Store))
	}
	if f.Device != "" {
		add("device = $", text(f.Device))
	}
	if f.State != "" {
		add("state = $", string(f.State))
	}
	if f.Live {
		where = append(where, "state IN ('open', 'acknowledged')")
	}
	if f.Priority != 0 {
		add("priority = $", f.Priority)
	}
	if f.Model != "" {
		add("model = $", text(f.Model))
	}
	if f.Fault != "" {
		add("fault = $", text(f.Fault))
	}
	if f.Kind != "" {
		add("kind = $", string(f.Kind))
	}
	// The column keeps microseconds: widen by one, and let the record decide.
	if !f.Since.IsZero() {
		add("opened_at >= $", f.Since.Add(-time.Microsecond))
	}
	if !f.Until.IsZero() {
		add("opened_at < $", f.Until.Add(time.Microsecond))
	}
	sql := `SELECT record FROM incidents`
	if len(where) > 0 {
		sql += " WHERE " + strings.Join(where, " AND ")
	}
	args = append(args, limit+2) // room for the two the widening may add
	sql += ` ORDER BY number DESC, id DESC LIMIT $` + strconv.Itoa(len(args))
	var out []incident.Incident
	err := s.read("incidents", func(ctx context.Context) error {
		list, err := records[incident.Incident](ctx, s.pool, sql, args...)
		out = out[:0]
		for _, inc := range list {
			if f.Match(&inc) && len(out) < limit {
				out = append(out, inc)
			}
		}
		return err
	})
	return out, err
}

// Timeline implements store.Store.
func (s *Store) Timeline(id string) ([]incident.Entry, error) {
	var out []incident.Entry
	err := s.read("timeline", func(ctx context.Context) error {
		out = nil
		var exists bool
		if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents WHERE id = $1)`, text(id)).Scan(&exists); err != nil {
			return err
		}
		if !exists {
			return fmt.Errorf("incident %q: %w", id, store.ErrNotFound)
		}
		rows, err := s.pool.Query(ctx, `SELECT incident_id, at, kind, author, body, say, COALESCE(args::text, '') FROM timeline WHERE incident_id = $1 ORDER BY seq`, text(id))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e incident.Entry
			var args string
			if err := rows.Scan(&e.Incident, &e.At, &e.Kind, &e.Author, &e.Text, &e.Say, &args); err != nil {
				return err
			}
			if args != "" {
				if err := json.Unmarshal([]byte(args), &e.Args); err != nil {
					return fmt.Errorf("timeline of %s: args: %w", id, err)
				}
			}
			e.At = e.At.UTC()
			out = append(out, e)
		}
		return rows.Err()
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("incident %q: %w", id, store.ErrNotFound)
	}
	return out, err
}

// AppendTimeline implements store.Store. An append is not tried again once
// it may have reached the database: a person's comment is better refused
// (the API says so) than doubled.
func (s *Store) AppendTimeline(e incident.Entry) error {
	var added bool
	err := s.retry("a timeline entry", readTries, func(ctx context.Context) error {
		ct, err := s.pool.Exec(ctx, `INSERT INTO timeline (incident_id, at, kind, author, body, say, args)
SELECT $1, $2, $3, $4, $5, $6, NULLIF($7, '')::jsonb WHERE EXISTS (SELECT 1 FROM incidents WHERE id = $1)`,
			text(e.Incident), e.At, text(string(e.Kind)), text(e.Author), text(e.Text), text(e.Say), entryArgs(e.Args))
		if err != nil && !pgxSafeToRetry(err) {
			return fmt.Errorf("%w (not tried again: it may have been stored)", errPermanent{err})
		}
		added = err == nil && ct.RowsAffected() == 1
		return err
	})
	if err != nil {
		return fmt.Errorf("store: timeline: %w", err)
	}
	if !added {
		return fmt.Errorf("incident %q: %w", e.Incident, store.ErrNotFound)
	}
	return nil
}

// Notifications implements store.Store.
func (s *Store) Notifications(after uint64, limit int) ([]incident.Notification, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []incident.Notification
	err := s.read("notifications", func(ctx context.Context) error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT seq, record FROM notifications WHERE seq > $1 ORDER BY seq LIMIT $2`, int64(after), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var seq int64
			var raw []byte
			if err := rows.Scan(&seq, &raw); err != nil {
				return err
			}
			var n incident.Notification
			if err := json.Unmarshal(raw, &n); err != nil {
				return fmt.Errorf("notification %d: %w", seq, err)
			}
			n.Seq = uint64(seq)
			out = append(out, n)
		}
		return rows.Err()
	})
	return out, err
}

// Cursor implements store.Store.
func (s *Store) Cursor(consumer string) (uint64, error) {
	var seq int64
	err := s.read("cursor", func(ctx context.Context) error {
		err := s.pool.QueryRow(ctx, `SELECT seq FROM cursors WHERE consumer = $1`, text(consumer)).Scan(&seq)
		if errors.Is(err, pgx.ErrNoRows) {
			seq = 0
			return nil
		}
		return err
	})
	return uint64(seq), err
}

// SetCursor implements store.Store.
func (s *Store) SetCursor(consumer string, seq uint64) error {
	return s.read("cursor", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO cursors (consumer, seq) VALUES ($1, $2)
ON CONFLICT (consumer) DO UPDATE SET seq = EXCLUDED.seq`, text(consumer), int64(seq))
		return err
	})
}

// FaultCounts implements store.Store.
func (s *Store) FaultCounts(q store.FaultQuery) (store.FaultCounts, error) {
	var out store.FaultCounts
	from, to := episodeNS(q.From), episodeNS(q.To)
	if to <= from {
		return out, nil
	}
	err := s.read("fault counts", func(ctx context.Context) error {
		out = store.FaultCounts{}
		if q.Key != "" {
			if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM episodes WHERE fingerprint = $1 AND start_ns >= $2 AND start_ns < $3`,
				text(q.Key), from, to).Scan(&out.Device); err != nil {
				return err
			}
		}
		if q.Model != "" && q.Tenant != "" {
			return s.pool.QueryRow(ctx, `SELECT count(*) FROM episodes WHERE tenant = $1 AND model = $2 AND fault = $3 AND model <> ''
	AND start_ns >= $4 AND start_ns < $5`, text(q.Tenant), text(q.Model), text(string(q.Fault)), from, to).Scan(&out.Model)
		}
		return nil
	})
	return out, err
}

const logSelect = `SELECT seq, at, kind, tenant, store, agent, device, device_kind, vendor, model, firmware, state, faults, since, duration_s,
	flapping, suppressed, incident_id, detail FROM event_log`

func scanLog(rows pgx.Rows) (int64, incident.LogEntry, error) {
	var l incident.LogEntry
	var seq int64
	var faults []string
	var since *time.Time
	err := rows.Scan(&seq, &l.At, &l.Kind, &l.Tenant, &l.Store, &l.Agent, &l.Device, &l.DevKind, &l.Vendor, &l.Model, &l.Firmware, &l.State,
		&faults, &since, &l.Duration, &l.Flapping, &l.Suppressed, &l.Incident, &l.Detail)
	l.At = l.At.UTC()
	if since != nil {
		l.Since = since.UTC()
	}
	for _, f := range faults {
		l.Faults = append(l.Faults, wire.FaultCode(f))
	}
	return seq, l, err
}

func (s *Store) logRows(what, sql string, args ...any) ([]incident.LogEntry, error) {
	var out []incident.LogEntry
	err := s.read(what, func(ctx context.Context) error {
		out = nil
		rows, err := s.pool.Query(ctx, sql, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			_, l, err := scanLog(rows)
			if err != nil {
				return err
			}
			out = append(out, l)
		}
		return rows.Err()
	})
	return out, err
}

// Log implements store.Store.
func (s *Store) Log(from, to time.Time, limit int) ([]incident.LogEntry, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	return s.logRows("event log", logSelect+` WHERE at >= $1 AND at < $2 ORDER BY at, seq LIMIT $3`, from, to, limit)
}

// DeviceLog implements store.Backend.
func (s *Store) DeviceLog(tenant, st, device string, since time.Time, limit int) ([]incident.LogEntry, error) {
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	return s.logRows("device log", logSelect+` WHERE tenant = $1 AND store = $2 AND device = $3 AND at >= $4 ORDER BY at DESC, seq DESC LIMIT $5`,
		text(tenant), text(st), text(device), since, limit)
}

// pruneBatch bounds the deletions of one statement, so pruning a long
// history never holds locks for long.
const pruneBatch = 10000

// PruneLog implements store.Store. It also forgets commit tokens older
// than a day (a commit is retried within minutes, not days).
func (s *Store) PruneLog(before time.Time) (int, error) {
	total := 0
	for {
		var n int64
		err := s.read("pruning the event log", func(ctx context.Context) error {
			ct, err := s.pool.Exec(ctx, `DELETE FROM event_log WHERE seq IN (SELECT seq FROM event_log WHERE at < $1 ORDER BY at LIMIT $2)`, before, pruneBatch)
			n = ct.RowsAffected()
			return err
		})
		total += int(n)
		if err != nil {
			return total, err
		}
		if n < pruneBatch {
			break
		}
	}
	err := s.read("forgetting old commit tokens", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM commits WHERE at < now() - interval '1 day'`)
		return err
	})
	return total, err
}

// ScanLog implements store.Store: store.ScanChunk entries per query, the
// next query starting after the last entry seen, fn called between them.
func (s *Store) ScanLog(from, to time.Time, kinds []incident.LogKind, fn func(incident.LogEntry) error) error {
	var ks []string
	for _, k := range kinds {
		ks = append(ks, text(string(k)))
	}
	lastAt, lastSeq := from, int64(-1)
	for {
		type row struct {
			seq int64
			l   incident.LogEntry
		}
		var chunk []row
		err := s.read("scanning the event log", func(ctx context.Context) error {
			chunk = chunk[:0]
			rows, err := s.pool.Query(ctx, logSelect+` WHERE at < $2 AND (at, seq) > ($1, $3) AND ($4::text[] IS NULL OR kind = ANY($4))
ORDER BY at, seq LIMIT $5`, lastAt, to, lastSeq, ks, store.ScanChunk)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				seq, l, err := scanLog(rows)
				if err != nil {
					return err
				}
				chunk = append(chunk, row{seq, l})
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for _, r := range chunk {
			if err := fn(r.l); err != nil {
				return err
			}
		}
		if len(chunk) < store.ScanChunk {
			return nil
		}
		// The next chunk starts after the last row's stored time and seq.
		last := chunk[len(chunk)-1]
		lastSeq = last.seq
		lastAt = last.l.At
	}
}

// ScanInstalls implements store.Store.
func (s *Store) ScanInstalls(tenant, st string, fn func(store.Install) error) error {
	var after *[4]any
	for {
		var chunk []store.Install
		err := s.read("scanning installs", func(ctx context.Context) error {
			chunk = chunk[:0]
			sql := `SELECT tenant, store, device, valid_from, agent, kind, vendor, model, serial FROM installs
WHERE ($1 = '' OR tenant = $1) AND ($2 = '' OR store = $2)`
			args := []any{text(tenant), text(st)}
			if after != nil {
				sql += ` AND (tenant, store, device, valid_from) > ($3, $4, $5, $6)`
				args = append(args, after[0], after[1], after[2], after[3])
			}
			sql += ` ORDER BY tenant, store, device, valid_from LIMIT ` + strconv.Itoa(store.ScanChunk)
			rows, err := s.pool.Query(ctx, sql, args...)
			if err != nil {
				return err
			}
			defer rows.Close()
			for rows.Next() {
				in, err := scanInstall(rows)
				if err != nil {
					return err
				}
				chunk = append(chunk, in)
			}
			return rows.Err()
		})
		if err != nil {
			return err
		}
		for _, in := range chunk {
			if err := fn(in); err != nil {
				return err
			}
		}
		if len(chunk) < store.ScanChunk {
			return nil
		}
		last := chunk[len(chunk)-1]
		after = &[4]any{last.Tenant, last.Store, last.Device, installFrom(last.From)}
	}
}

// Stores implements store.Store.
func (s *Store) Stores() ([]incident.StoreRecord, error) {
	return listed[incident.StoreRecord](s, "stores", `SELECT record FROM stores ORDER BY tenant, store`)
}

// Agents lists every agent's record, as the engines of the partitions
// last committed them (a replica's listings, hub/directory.go).
func (s *Store) Agents() ([]incident.AgentRecord, error) {
	return listed[incident.AgentRecord](s, "agents", `SELECT record FROM agents ORDER BY tenant, store, agent`)
}

// Devices lists every device's record, as Agents.
func (s *Store) Devices() ([]incident.DeviceRecord, error) {
	return listed[incident.DeviceRecord](s, "devices", `SELECT record FROM devices ORDER BY tenant, store, device`)
}

// StoreDevices returns the devices of one store, as Devices; tenant ""
// means the stores of that name in every tenant (a remote query may name
// only the store). A replica's remote queries look a device up so, not in
// the whole fleet's listing.
func (s *Store) StoreDevices(tenant, storeID string) ([]incident.DeviceRecord, error) {
	if tenant == "" {
		return listed[incident.DeviceRecord](s, "a store's devices", `SELECT record FROM devices WHERE store = $1 ORDER BY tenant, device`, storeID)
	}
	return listed[incident.DeviceRecord](s, "a store's devices", `SELECT record FROM devices WHERE tenant = $1 AND store = $2 ORDER BY device`, tenant, storeID)
}

// Agent returns one agent's record, as Agents.
func (s *Store) Agent(id wire.AgentID) (incident.AgentRecord, bool, error) {
	return one[incident.AgentRecord](s, "an agent", `SELECT record FROM agents WHERE tenant = $1 AND store = $2 AND agent = $3`, id.Tenant, id.Store, id.Agent)
}

// StoreRecord returns one store's record, as Stores.
func (s *Store) StoreRecord(tenant, storeID string) (incident.StoreRecord, bool, error) {
	return one[incident.StoreRecord](s, "a store", `SELECT record FROM stores WHERE tenant = $1 AND store = $2`, tenant, storeID)
}

// one reads the record a primary key selects; false when there is none.
func one[T any](s *Store, what, sql string, args ...any) (T, bool, error) {
	recs, err := listed[T](s, what, sql, args...)
	if err != nil || len(recs) == 0 {
		var zero T
		return zero, false, err
	}
	return recs[0], true, nil
}

// listed reads the records sql selects, retried as any read.
func listed[T any](s *Store, what, sql string, args ...any) ([]T, error) {
	var out []T
	err := s.read(what, func(ctx context.Context) error {
		var err error
		out, err = records[T](ctx, s.pool, sql, args...)
		return err
	})
	return out, err
}

// AppendAudit implements store.Backend. Like a timeline entry, it is not
// tried again once it may have reached the database.
func (s *Store) AppendAudit(e store.AuditEntry) (store.AuditEntry, error) {
	var args []byte
	if e.Args != nil {
		j, err := jsonText(e.Args)
		if err != nil {
			return e, fmt.Errorf("store: audit: %w", err)
		}
		args = []byte(j)
	}
	err := s.retry("an audit entry", readTries, func(ctx context.Context) error {
		var seq int64
		err := s.pool.QueryRow(ctx, `INSERT INTO audit (at, event, request_id, who, tenant, store, agent, device, op, args, ok, code, error, took_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14) RETURNING seq`, e.At, text(e.Event), text(e.ID), text(e.Who),
			text(e.Tenant), text(e.Store), text(e.Agent), text(e.Device), text(e.Op), args, e.OK, text(e.Code), text(e.Error), e.TookMS).Scan(&seq)
		if err != nil && !pgxSafeToRetry(err) {
			return errPermanent{err}
		}
		e.Seq = uint64(seq)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("store: audit: %w", err)
	}
	return e, nil
}

// Audit implements store.Backend.
func (s *Store) Audit(f store.AuditFilter) ([]store.AuditEntry, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = store.DefaultLimit
	}
	var out []store.AuditEntry
	err := s.read("audit", func(ctx context.Context) error {
		out = nil
		rows, err := s.pool.Query(ctx, `SELECT seq, at, event, request_id, who, tenant, store, agent, device, op, args, ok, code, error, took_ms
FROM audit WHERE ($1 = '' OR tenant = $1) AND ($2 = '' OR store = $2) AND ($3 = '' OR device = $3) AND ($4 = '' OR who = $4)
	AND ($5 = '' OR request_id = $5) AND ($6::timestamptz IS NULL OR at >= $6)
ORDER BY seq DESC LIMIT $7`, text(f.Tenant), text(f.Store), text(f.Device), text(f.Who), text(f.ID), nullTime(f.Since), limit)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e store.AuditEntry
			var seq int64
			var args []byte
			if err := rows.Scan(&seq, &e.At, &e.Event, &e.ID, &e.Who, &e.Tenant, &e.Store, &e.Agent, &e.Device, &e.Op, &args, &e.OK, &e.Code,
				&e.Error, &e.TookMS); err != nil {
				return err
			}
			e.Seq, e.At = uint64(seq), e.At.UTC()
			if args != nil {
				if err := json.Unmarshal(args, &e.Args); err != nil {
					return fmt.Errorf("audit %d: %w", seq, err)
				}
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, err
}

// StoreInventory returns one store's record and its devices' records, as
// the engine of the replica that owns the store keeps them: for the
// helpdesk delivery of a cluster of replicas (hub/cluster), which runs on
// one replica for all stores.
func (s *Store) StoreInventory(tenant, storeID string) (incident.StoreRecord, bool, []incident.DeviceRecord, error) {
	var recs []incident.StoreRecord
	var devs []incident.DeviceRecord
	err := s.read("a store's inventory", func(ctx context.Context) error {
		var err error
		if recs, err = records[incident.StoreRecord](ctx, s.pool, `SELECT record FROM stores WHERE tenant = $1 AND store = $2`, tenant, storeID); err != nil {
			return err
		}
		devs, err = records[incident.DeviceRecord](ctx, s.pool, `SELECT record FROM devices WHERE tenant = $1 AND store = $2 ORDER BY device`, tenant, storeID)
		return err
	})
	if err != nil || len(recs) == 0 {
		return incident.StoreRecord{}, false, devs, err
	}
	return recs[0], true, devs, nil
}
