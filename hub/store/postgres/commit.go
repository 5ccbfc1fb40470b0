package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/storewatch/storewatch/hub/incident"
	"github.com/storewatch/storewatch/hub/store"
)

// Commit implements store.Store: one change set in one transaction. It
// waits for the database when it is away (a restart, a failover) and
// returns once the change set is stored: the caller acknowledges messages
// upstream only then, so nothing is lost and, thanks to the commit token,
// nothing is stored twice. It returns an error for a change set the
// database refuses (store.ErrConflict: another engine's live incident) or
// when the store is closed while it waits.
func (s *Store) Commit(c incident.Changes) error { return s.commit(c, nil) }

// CommitFenced is Commit for the engine of one partition of a cluster of
// replicas (hub/cluster): the change set is stored only while fence's
// lease is still the one the database has, checked under a lock in the
// commit's own transaction; otherwise it returns ErrFenced and stores
// nothing.
func (s *Store) CommitFenced(c incident.Changes, fence Fence) error { return s.commit(c, &fence) }

func (s *Store) commit(c incident.Changes, fence *Fence) error {
	if c.Empty() {
		return nil
	}
	rows, err := prepare(&c)
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	tok := token()
	attempt := 0
	err = s.retry("a commit", 0, func(ctx context.Context) error {
		attempt++
		return s.commitOnce(ctx, tok, attempt > 1, fence, &c, rows)
	})
	if err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	if len(c.Notifications) > 0 {
		s.wake()
	}
	return nil
}

// changeRows are a change set's rows, encoded once for every attempt.
type changeRows struct {
	incidents []incident.Incident // latest versions: finished ones first, then live ones
	stores    []incident.StoreRecord
	agents    []incident.AgentRecord
	devices   []incident.DeviceRecord
	windows   []incident.Window
	episodes  []incident.Episode
	notes     []string // notification records
	log       [][]any
}

// prepare encodes what does not depend on the database. Incidents are
// written finished ones first, so that a batch that resolves one incident
// and opens the next for the same fingerprint never holds two live ones,
// even for a moment (the unique index checks each row as it is written).
func prepare(c *incident.Changes) (*changeRows, error) {
	r := &changeRows{}
	latest := store.Latest(c.Incidents, func(i incident.Incident) string { return i.ID })
	for _, live := range []bool{false, true} {
		for _, inc := range latest {
			if inc.State.Live() == live {
				r.incidents = append(r.incidents, inc)
			}
		}
	}
	r.stores = store.Latest(c.Stores, func(x incident.StoreRecord) string { return x.Tenant + "/" + x.Store })
	r.agents = store.Latest(c.Agents, func(x incident.AgentRecord) string { return x.ID().String() })
	r.devices = store.Latest(c.Devices, func(x incident.DeviceRecord) string { return x.Tenant + "/" + x.Store + "/" + x.ID })
	r.windows = store.Latest(c.Windows, func(x incident.Window) string { return x.ID })
	r.episodes = latestEpisodes(c.Episodes)
	for _, n := range c.Notifications {
		n.Seq = 0 // the column holds it
		j, err := jsonText(n)
		if err != nil {
			return nil, err
		}
		r.notes = append(r.notes, j)
	}
	for _, l := range c.Log {
		r.log = append(r.log, logRow(l))
	}
	return r, nil
}

// latestEpisodes keeps one of each episode, with a model where one is
// known.
func latestEpisodes(eps []incident.Episode) []incident.Episode {
	type k struct {
		key string
		ns  int64
	}
	at := map[k]int{}
	var out []incident.Episode
	for _, ep := range eps {
		key := k{ep.Key, episodeNS(ep.Start)}
		if i, ok := at[key]; ok {
			if ep.Model != "" {
				out[i].Model = ep.Model
			}
			continue
		}
		at[key] = len(out)
		out = append(out, ep)
	}
	return out
}

// episodeNS is an episode's start as stored: nanoseconds since 1970,
// clamped to what int64 holds, as bbolt's keys are.
func episodeNS(t time.Time) int64 {
	switch {
	case t.Before(time.Unix(0, 0)):
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

var logColumns = []string{"at", "kind", "tenant", "store", "agent", "device", "device_kind", "vendor", "model", "firmware", "state", "faults",
	"since", "duration_s", "flapping", "suppressed", "incident_id", "detail"}

func logRow(l incident.LogEntry) []any {
	var faults []string
	for _, f := range l.Faults {
		faults = append(faults, text(string(f)))
	}
	return []any{l.At, text(string(l.Kind)), text(l.Tenant), text(l.Store), text(l.Agent), text(l.Device), text(l.DevKind), text(l.Vendor),
		text(l.Model), text(l.Firmware), text(l.State), faults, nullTime(l.Since), l.Duration, l.Flapping, text(l.Suppressed),
		text(l.Incident), text(l.Detail)}
}

const upsertIncidents = `
INSERT INTO incidents (id, number, key, kind, tenant, store, device, fault, state, priority, model, opened_at, version, record)
SELECT u.id, u.number, u.key, u.kind, u.tenant, u.store, u.device, u.fault, u.state, u.priority, u.model, u.opened_at, u.version, u.record::jsonb
FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::int[],
	$11::text[], $12::timestamptz[], $13::bigint[], $14::text[])
	WITH ORDINALITY AS u(id, number, key, kind, tenant, store, device, fault, state, priority, model, opened_at, version, record, ord)
ORDER BY u.ord
ON CONFLICT (id) DO UPDATE SET number = EXCLUDED.number, kind = EXCLUDED.kind, tenant = EXCLUDED.tenant, store = EXCLUDED.store,
	device = EXCLUDED.device, fault = EXCLUDED.fault, state = EXCLUDED.state, priority = EXCLUDED.priority, model = EXCLUDED.model,
	opened_at = EXCLUDED.opened_at, version = EXCLUDED.version, record = EXCLUDED.record
WHERE incidents.key = EXCLUDED.key`

// queueIncidents adds the upsert of incs to b. An id that names another
// fingerprint in the table is a conflict: another engine handed it out.
func queueIncidents(b *pgx.Batch, incs []incident.Incident) error {
	if len(incs) == 0 {
		return nil
	}
	n := len(incs)
	var (
		ids, keys, kinds, tenants, stores, devices, faults, states, models, records = make([]string, n), make([]string, n), make([]string, n),
			make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		numbers, versions = make([]int64, n), make([]int64, n)
		priorities        = make([]int32, n)
		opened            = make([]time.Time, n)
	)
	for i, inc := range incs {
		j, err := jsonText(inc)
		if err != nil {
			return fmt.Errorf("incident %s: %w", inc.ID, err)
		}
		ids[i], numbers[i], keys[i], kinds[i] = text(inc.ID), int64(store.IncidentNumber(inc.ID)), text(inc.Key), text(string(inc.Kind))
		tenants[i], stores[i], devices[i], faults[i] = text(inc.Tenant), text(inc.Store), text(inc.Device), text(string(inc.Fault))
		states[i], priorities[i], models[i], opened[i] = string(inc.State), int32(inc.Priority), text(inc.Facts.Model), inc.OpenedAt
		versions[i], records[i] = int64(inc.Version), j
	}
	b.Queue(upsertIncidents, ids, numbers, keys, kinds, tenants, stores, devices, faults, states, priorities, models, opened, versions, records).
		Exec(func(ct pgconn.CommandTag) error {
			if ct.RowsAffected() != int64(n) {
				return fmt.Errorf("%w: an incident id of this commit names another fingerprint in the store", store.ErrConflict)
			}
			return nil
		})
	return nil
}

func (s *Store) commitOnce(ctx context.Context, tok []byte, again bool, fence *Fence, c *incident.Changes, r *changeRows) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if again {
		var done bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM commits WHERE token = $1)`, tok).Scan(&done); err != nil {
			return err
		}
		if done {
			s.log.Info("postgres: a commit whose answer was lost had been stored; not storing it again")
			return nil
		}
	}
	if fence != nil {
		if err := fence.check(ctx, tx); err != nil {
			return err
		}
	}
	incs := r.incidents
	if len(c.Tickets) > 0 {
		if incs, err = linkTickets(ctx, tx, incs, c.Tickets); err != nil {
			return err
		}
	}
	var installs []store.Install
	if len(c.Devices) > 0 {
		// Every version of a device's record: one batch may swap a model
		// and swap it back.
		if installs, err = newInstalls(ctx, tx, c.Devices); err != nil {
			return err
		}
	}

	b := &pgx.Batch{}
	b.Queue(`INSERT INTO commits (token) VALUES ($1)`, tok)
	if err := queueIncidents(b, incs); err != nil {
		return err
	}
	if len(c.Timeline) > 0 {
		queueTimeline(b, c.Timeline)
	}
	if len(r.notes) > 0 {
		n := len(r.notes)
		kinds, ats, ids := make([]string, n), make([]time.Time, n), make([]string, n)
		for i, x := range c.Notifications {
			kinds[i], ats[i], ids[i] = text(string(x.Kind)), x.At, text(x.Incident.ID)
		}
		b.Queue(`
WITH c AS (UPDATE counters SET value = value + $1 WHERE name = 'notifications' RETURNING value - $1 AS base)
INSERT INTO notifications (seq, kind, at, incident_id, record)
SELECT c.base + u.ord, u.kind, u.at, u.id, u.record::jsonb
FROM c, unnest($2::text[], $3::timestamptz[], $4::text[], $5::text[]) WITH ORDINALITY AS u(kind, at, id, record, ord)
RETURNING seq`, n, kinds, ats, ids, r.notes).Query(func(rows pgx.Rows) error {
			i := 0
			for rows.Next() {
				var seq int64
				if err := rows.Scan(&seq); err != nil {
					return err
				}
				if i < n {
					c.Notifications[i].Seq = uint64(seq)
				}
				i++
			}
			return rows.Err()
		})
	}
	if len(r.notes) > 0 {
		b.Queue(`SELECT pg_notify($1, '')`, notifyChannel) // other replicas' connectors wake (Options.Listen)
	}
	if err := queueRecords(b, r); err != nil {
		return err
	}
	if len(c.DeleteWindows) > 0 {
		b.Queue(`DELETE FROM windows WHERE id = ANY($1)`, c.DeleteWindows)
	}
	queueInstalls(b, installs)
	if len(r.episodes) > 0 {
		queueEpisodes(b, r.episodes)
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return conflict(err)
	}
	if len(r.log) > 0 {
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_log"}, logColumns, pgx.CopyFromRows(r.log)); err != nil {
			return err
		}
	}
	return conflict(tx.Commit(ctx))
}

// conflict turns a unique violation into store.ErrConflict.
func conflict(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && pe.Code == "23505" {
		return fmt.Errorf("%w: %s (%s)", store.ErrConflict, pe.Detail, pe.ConstraintName)
	}
	return err
}

// linkTickets applies ticket links after the upserts, as the bbolt store
// does: to the incident written in this commit, or else to the stored one
// (read under a row lock). A link to an incident that does not exist is
// dropped: the engine's caller checked, and a vanished record is not worth
// a failed commit.
func linkTickets(ctx context.Context, tx pgx.Tx, incs []incident.Incident, links []incident.TicketLink) ([]incident.Incident, error) {
	at := map[string]int{}
	for i, inc := range incs {
		at[inc.ID] = i
	}
	var missing []string
	for _, l := range links {
		if _, ok := at[l.Incident]; !ok {
			missing = append(missing, l.Incident)
			at[l.Incident] = -1
		}
	}
	// A copy: the change set's rows serve every attempt of the commit, and
	// a link applied twice would count the incident's version twice.
	out := append([]incident.Incident(nil), incs...)
	if len(missing) > 0 {
		rows, err := tx.Query(ctx, `SELECT record FROM incidents WHERE id = ANY($1) ORDER BY id FOR UPDATE`, missing)
		if err != nil {
			return nil, err
		}
		stored, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
		if err != nil {
			return nil, err
		}
		// Stored incidents are written before the live ones of this commit,
		// as they are finished.
		var found []incident.Incident
		for _, rec := range stored {
			var inc incident.Incident
			if err := json.Unmarshal(rec, &inc); err != nil {
				return nil, err
			}
			found = append(found, inc)
		}
		out = append(found, out...)
		for i := range out {
			at[out[i].ID] = i
		}
	}
	for _, l := range links {
		if i := at[l.Incident]; i >= 0 {
			store.LinkTicket(&out[i], l)
		}
	}
	return out, nil
}

// queueTimeline appends entries in order; an entry for an incident that
// does not exist is dropped, as for ticket links.
func queueTimeline(b *pgx.Batch, es []incident.Entry) {
	n := len(es)
	ids, kinds, authors, bodies, ats := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]time.Time, n)
	says, args := make([]string, n), make([]string, n)
	for i, e := range es {
		ids[i], kinds[i], authors[i], bodies[i], ats[i] = text(e.Incident), text(string(e.Kind)), text(e.Author), text(e.Text), e.At
		says[i], args[i] = text(e.Say), entryArgs(e.Args)
	}
	b.Queue(`
INSERT INTO timeline (incident_id, at, kind, author, body, say, args)
SELECT u.id, u.at, u.kind, u.author, u.body, u.say, NULLIF(u.args, '')::jsonb
FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS u(id, at, kind, author, body, say, args, ord)
WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.id = u.id)
ORDER BY u.ord`, ids, ats, kinds, authors, bodies, says, args)
}

// entryArgs is a timeline entry's Args as JSON, "" for none (NULL).
func entryArgs(a map[string]string) string {
	if len(a) == 0 {
		return ""
	}
	clean := make(map[string]string, len(a)) // jsonb refuses \u0000, as text columns refuse NUL
	for k, v := range a {
		clean[text(k)] = text(v)
	}
	b, _ := json.Marshal(clean) // a map of strings always marshals
	return string(b)
}

// queueRecords upserts the records the engine restarts from.
func queueRecords(b *pgx.Batch, r *changeRows) error {
	stores := make([][]string, 0, len(r.stores))
	for _, x := range r.stores {
		stores = append(stores, []string{x.Tenant, x.Store})
	}
	agents := make([][]string, 0, len(r.agents))
	for _, x := range r.agents {
		agents = append(agents, []string{x.Tenant, x.Store, x.Agent})
	}
	devices := make([][]string, 0, len(r.devices))
	for _, x := range r.devices {
		devices = append(devices, []string{x.Tenant, x.Store, x.ID})
	}
	windows := make([][]string, 0, len(r.windows))
	for _, x := range r.windows {
		windows = append(windows, []string{x.ID, x.Tenant, x.Store})
	}
	for _, t := range []struct {
		table string
		cols  []string
		key   int // how many of cols are the primary key
		rows  [][]string
		rec   func(i int) any
	}{
		{"stores", []string{"tenant", "store"}, 2, stores, func(i int) any { return r.stores[i] }},
		{"agents", []string{"tenant", "store", "agent"}, 3, agents, func(i int) any { return r.agents[i] }},
		{"devices", []string{"tenant", "store", "device"}, 3, devices, func(i int) any { return r.devices[i] }},
		{"windows", []string{"id", "tenant", "store"}, 1, windows, func(i int) any { return r.windows[i] }},
	} {
		if len(t.rows) == 0 {
			continue
		}
		cols := make([][]string, len(t.cols))
		recs := make([]string, len(t.rows))
		for i, row := range t.rows {
			for k, v := range row {
				cols[k] = append(cols[k], text(v))
			}
			var err error
			if recs[i], err = jsonText(t.rec(i)); err != nil {
				return fmt.Errorf("%s: %w", t.table, err)
			}
		}
		args := make([]any, 0, len(cols)+1)
		params, sel, set := "", "", "record = EXCLUDED.record"
		for k, name := range t.cols {
			params += fmt.Sprintf("$%d::text[], ", k+1)
			sel += "u." + name + ", "
			args = append(args, cols[k])
			if k >= t.key {
				set += ", " + name + " = EXCLUDED." + name
			}
		}
		args = append(args, recs)
		names := strings.Join(t.cols, ", ")
		b.Queue(fmt.Sprintf(`INSERT INTO %s (%s, record) SELECT %su.record::jsonb FROM unnest(%s$%d::text[]) AS u(%s, record)
ON CONFLICT (%s) DO UPDATE SET %s`, t.table, names, sel, params, len(t.cols)+1, names, strings.Join(t.cols[:t.key], ", "), set), args...)
	}
	return nil
}

const upsertEpisodes = `
INSERT INTO episodes (fingerprint, start_ns, tenant, fault, model)
SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[])
ON CONFLICT (fingerprint, start_ns) DO UPDATE SET model = EXCLUDED.model WHERE EXCLUDED.model <> ''`

func queueEpisodes(b *pgx.Batch, eps []incident.Episode) {
	n := len(eps)
	keys, models := make([]string, n), make([]string, n)
	tenants, faults := make([]*string, n), make([]*string, n)
	starts := make([]int64, n)
	for i, ep := range eps {
		keys[i], starts[i], models[i] = text(ep.Key), episodeNS(ep.Start), text(ep.Model)
		if tenant, code, ok := store.SplitFingerprint(ep.Key); ok {
			t, f := text(tenant), text(string(code))
			tenants[i], faults[i] = &t, &f
		}
	}
	b.Queue(upsertEpisodes, keys, starts, tenants, faults, models)
}

// newInstalls reads the last install of each device of the batch and
// returns the installs the records start (store.NewInstalls).
func newInstalls(ctx context.Context, tx pgx.Tx, devices []incident.DeviceRecord) ([]store.Install, error) {
	n := len(devices)
	tenants, stores, ids := make([]string, n), make([]string, n), make([]string, n)
	for i, d := range devices {
		tenants[i], stores[i], ids[i] = text(d.Tenant), text(d.Store), text(d.ID)
	}
	rows, err := tx.Query(ctx, `
SELECT DISTINCT ON (i.tenant, i.store, i.device) i.tenant, i.store, i.device, i.valid_from, i.agent, i.kind, i.vendor, i.model, i.serial
FROM installs i JOIN unnest($1::text[], $2::text[], $3::text[]) AS u(tenant, store, device)
	ON i.tenant = u.tenant AND i.store = u.store AND i.device = u.device
ORDER BY i.tenant, i.store, i.device, i.valid_from DESC`, tenants, stores, ids)
	if err != nil {
		return nil, err
	}
	last := map[[3]string]store.Install{}
	for rows.Next() {
		in, err := scanInstall(rows)
		if err != nil {
			rows.Close()
			return nil, err
		}
		last[[3]string{in.Tenant, in.Store, in.Device}] = in
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	ins, err := store.NewInstalls(devices, func(tenant, st, device string) (store.Install, bool, error) {
		in, ok := last[[3]string{text(tenant), text(st), text(device)}]
		return in, ok, nil
	})
	if err != nil {
		return nil, err
	}
	return store.Latest(ins, installKey), nil
}

// installKey is an install's primary key: one per device and start.
func installKey(in store.Install) string {
	return in.Tenant + "\x00" + in.Store + "\x00" + in.Device + "\x00" + in.From.UTC().Format(time.RFC3339Nano)
}

func scanInstall(rows pgx.Rows) (store.Install, error) {
	var in store.Install
	var from pgtype.Timestamptz
	if err := rows.Scan(&in.Tenant, &in.Store, &in.Device, &from, &in.Agent, &in.Kind, &in.Vendor, &in.Model, &in.Serial); err != nil {
		return in, err
	}
	if from.Valid && from.InfinityModifier == pgtype.Finite {
		in.From = from.Time.UTC()
	}
	return in, nil
}

// installFrom is an Install's start as stored: '-infinity' for one from
// the beginning.
func installFrom(t time.Time) pgtype.Timestamptz {
	if t.IsZero() {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}
	}
	return pgtype.Timestamptz{Time: t, Valid: true}
}

const upsertInstalls = `
INSERT INTO installs (tenant, store, device, valid_from, agent, kind, vendor, model, serial)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])
ON CONFLICT (tenant, store, device, valid_from) DO UPDATE SET agent = EXCLUDED.agent, kind = EXCLUDED.kind, vendor = EXCLUDED.vendor,
	model = EXCLUDED.model, serial = EXCLUDED.serial`

func queueInstalls(b *pgx.Batch, ins []store.Install) {
	if len(ins) == 0 {
		return
	}
	n := len(ins)
	cols := make([][]string, 8)
	for i := range cols {
		cols[i] = make([]string, n)
	}
	froms := make([]pgtype.Timestamptz, n)
	for i, in := range ins {
		for k, v := range []string{in.Tenant, in.Store, in.Device, in.Agent, in.Kind, in.Vendor, in.Model, in.Serial} {
			cols[k][i] = text(v)
		}
		froms[i] = installFrom(in.From)
	}
	b.Queue(upsertInstalls, cols[0], cols[1], cols[2], froms, cols[3], cols[4], cols[5], cols[6], cols[7])
}
