package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/helpdesk"
	"github.com/storewatch/storewatch/hub/store"
)

// Copied counts what CopyFromBolt copied.
type Copied struct {
	Incidents, Timeline, Notifications, Cursors, Log, Stores, Agents, Devices, Windows, Episodes, Installs, Audit int
	EnrolTokens, AgentCredentials, Profiles                                                                       int
	HelpdeskTickets, HelpdeskCalls, HelpdeskDeadLetters                                                           int
}

// ErrNotEmpty: CopyFromBolt copies into an empty database only.
var ErrNotEmpty = errors.New("the database already holds a hub's data; copy into an empty one (storehub migrate makes the schema)")

// CopyFromBolt copies a bbolt hub's whole store (and, when outbox is not
// nil, its helpdesk outbox) into this database, in one transaction: a copy
// that fails leaves the database as empty as it was. The bbolt hub must be
// stopped. What the store assigned is kept: incident ids, notification
// numbers and the connectors' cursors (so helpdesk delivery goes on where
// it was), the install history, episode models, the audit trail.
func (s *Store) CopyFromBolt(ctx context.Context, src *store.Bolt, outbox helpdesk.Records) (Copied, error) {
	var n Copied
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return n, fmt.Errorf("postgres: %w", err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	var used bool
	err = tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM incidents) OR EXISTS (SELECT 1 FROM event_log) OR EXISTS (SELECT 1 FROM devices)
	OR EXISTS (SELECT 1 FROM notifications) OR EXISTS (SELECT 1 FROM helpdesk_tickets) OR EXISTS (SELECT 1 FROM audit)`).Scan(&used)
	if err != nil {
		return n, fmt.Errorf("postgres: %w", err)
	}
	if used {
		return n, ErrNotEmpty
	}
	if err := src.Export(func(d store.Dump) error { return copyDump(ctx, tx, d, &n) }); err != nil {
		return n, fmt.Errorf("copy: %w", conflict(err))
	}
	if outbox != nil {
		if err := copyOutbox(ctx, tx, outbox, &n); err != nil {
			return n, fmt.Errorf("copy: helpdesk outbox: %w", err)
		}
	}
	// The numbers handed out next follow the copied ones.
	_, err = tx.Exec(ctx, `
UPDATE counters SET value = (SELECT coalesce(max(seq), 0) FROM notifications) WHERE name = 'notifications';
SELECT setval(pg_get_serial_sequence('audit', 'seq'), coalesce((SELECT max(seq) FROM audit), 0) + 1, false);
SELECT setval('helpdesk_call_seq', greatest((SELECT coalesce(max(seq), 0) FROM helpdesk_calls),
	(SELECT coalesce(max(seq), 0) FROM helpdesk_dead_letters)) + 1, false)`)
	if err != nil {
		return n, fmt.Errorf("copy: %w", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return n, fmt.Errorf("copy: %w", err)
	}
	return n, nil
}

func copyDump(ctx context.Context, tx pgx.Tx, d store.Dump, n *Copied) error {
	b := &pgx.Batch{}
	if err := queueIncidents(b, d.Incidents); err != nil {
		return err
	}
	if len(d.Timeline) > 0 {
		queueTimeline(b, d.Timeline)
	}
	for _, x := range d.Notifications {
		seq := int64(x.Seq)
		x.Seq = 0
		rec, err := jsonText(x)
		if err != nil {
			return err
		}
		b.Queue(`INSERT INTO notifications (seq, kind, at, incident_id, record) VALUES ($1, $2, $3, $4, $5::jsonb)`,
			seq, text(string(x.Kind)), x.At, text(x.Incident.ID), rec)
	}
	for consumer, seq := range d.Cursors {
		b.Queue(`INSERT INTO cursors (consumer, seq) VALUES ($1, $2)`, text(consumer), int64(seq))
	}
	r := &changeRows{stores: d.Stores, agents: d.Agents, devices: d.Devices, windows: d.Windows}
	if err := queueRecords(b, r); err != nil {
		return err
	}
	if len(d.Episodes) > 0 {
		queueEpisodes(b, latestEpisodes(d.Episodes))
	}
	queueInstalls(b, store.Latest(d.Installs, installKey))
	for _, e := range d.Audit {
		var args any
		if e.Args != nil {
			j, err := jsonText(e.Args)
			if err != nil {
				return err
			}
			args = j
		}
		b.Queue(`INSERT INTO audit (seq, at, event, request_id, who, tenant, store, agent, device, op, args, ok, code, error, took_ms)
OVERRIDING SYSTEM VALUE VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::jsonb, $12, $13, $14, $15)`, int64(e.Seq), e.At, text(e.Event),
			text(e.ID), text(e.Who), text(e.Tenant), text(e.Store), text(e.Agent), text(e.Device), text(e.Op), args, e.OK, text(e.Code),
			text(e.Error), e.TookMS)
	}
	for _, t := range d.EnrolTokens {
		if err := queueEnrolToken(b, t); err != nil {
			return err
		}
	}
	for _, c := range d.AgentCredentials {
		if err := queueAgentCredential(b, c); err != nil {
			return err
		}
	}
	for _, p := range d.Profiles {
		if err := queueProfile(b, p); err != nil {
			return err
		}
	}
	if b.Len() > 0 {
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
	}
	if len(d.Log) > 0 {
		rows := make([][]any, 0, len(d.Log))
		for _, l := range d.Log {
			rows = append(rows, logRow(l))
		}
		if _, err := tx.CopyFrom(ctx, pgx.Identifier{"event_log"}, logColumns, pgx.CopyFromRows(rows)); err != nil {
			return err
		}
	}
	n.Incidents += len(d.Incidents)
	n.Timeline += len(d.Timeline)
	n.Notifications += len(d.Notifications)
	n.Cursors += len(d.Cursors)
	n.Log += len(d.Log)
	n.Stores += len(d.Stores)
	n.Agents += len(d.Agents)
	n.Devices += len(d.Devices)
	n.Windows += len(d.Windows)
	n.Installs += len(d.Installs)
	n.Audit += len(d.Audit)
	n.EnrolTokens += len(d.EnrolTokens)
	n.AgentCredentials += len(d.AgentCredentials)
	n.Profiles += len(d.Profiles)
	for _, ep := range d.Episodes {
		if ep.Model == "" { // the episode record; the model index names it again
			n.Episodes++
		}
	}
	return nil
}

// copyOutbox copies the outbox's records through the same tables the
// running outbox uses.
func copyOutbox(ctx context.Context, tx pgx.Tx, src helpdesk.Records, n *Copied) error {
	dst := outboxTx{ctx, tx}
	return src.View(func(s helpdesk.RecordsTx) error {
		return errors.Join(
			s.Tickets().Each(func(t helpdesk.TicketInfo) error { n.HelpdeskTickets++; return dst.Tickets().Put(t.Key, &t) }),
			s.Calls().Each(func(c helpdesk.QueuedCall) error { n.HelpdeskCalls++; return dst.Calls().Put(c.Seq, &c) }),
			s.Dead().Each(func(d helpdesk.DeadLetter) error { n.HelpdeskDeadLetters++; return dst.Dead().Put(d.Seq, &d) }),
		)
	})
}
