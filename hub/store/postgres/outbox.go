package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/storewatch/storewatch/hub/helpdesk"
)

// HelpdeskRecords are the helpdesk outbox's records (helpdesk.Records) in
// this database: tickets, the queue of calls and the dead letters, beside
// the incidents they come from. Closing them leaves the Store open.
func (s *Store) HelpdeskRecords() helpdesk.Records { return outboxRecords{s} }

type outboxRecords struct{ s *Store }

func (r outboxRecords) Close() error { return nil }

func (r outboxRecords) Update(fn func(helpdesk.RecordsTx) error) error {
	return r.run("the helpdesk outbox", pgx.TxOptions{}, fn)
}

func (r outboxRecords) View(fn func(helpdesk.RecordsTx) error) error {
	return r.run("reading the helpdesk outbox", pgx.TxOptions{AccessMode: pgx.ReadOnly}, fn)
}

// run runs fn in a transaction, again (a few times) when the database was
// away before the commit; a commit whose answer was lost is not repeated.
func (r outboxRecords) run(what string, opts pgx.TxOptions, fn func(helpdesk.RecordsTx) error) error {
	return r.s.retry(what, readTries, func(ctx context.Context) error {
		tx, err := r.s.pool.BeginTx(ctx, opts)
		if err != nil {
			return err
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		if err := fn(outboxTx{ctx, tx}); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			if !pgconn.SafeToRetry(err) {
				return errPermanent{err}
			}
			return err
		}
		return nil
	})
}

type outboxTx struct {
	ctx context.Context
	tx  pgx.Tx
}

func (t outboxTx) NextCallSeq() (uint64, error) {
	var n int64
	err := t.tx.QueryRow(t.ctx, `SELECT nextval('helpdesk_call_seq')`).Scan(&n)
	return uint64(n), err
}

func (t outboxTx) Tickets() helpdesk.Table[string, helpdesk.TicketInfo] {
	return table[string, helpdesk.TicketInfo]{t, "helpdesk_tickets", "key",
		[]string{"incident_key", "occurrence", "helpdesk", "external_id", "ticket_id", "created", "finished"},
		func(k string) any { return text(k) },
		func(r *helpdesk.TicketInfo) []any {
			return []any{text(r.IncidentKey), text(r.Occurrence), text(r.Route.Helpdesk), text(r.ExternalID), text(r.Ticket.ID), r.Created,
				nullTime(r.Finished)}
		}}
}

func (t outboxTx) Calls() helpdesk.Table[uint64, helpdesk.QueuedCall] {
	return table[uint64, helpdesk.QueuedCall]{t, "helpdesk_calls", "seq", []string{"ticket", "kind", "enqueued", "next_at", "attempts"},
		func(k uint64) any { return int64(k) },
		func(c *helpdesk.QueuedCall) []any {
			return []any{text(c.Ticket), text(string(c.Notification.Kind)), c.Enqueued, c.Next, c.Attempts}
		}}
}

func (t outboxTx) Dead() helpdesk.Table[uint64, helpdesk.DeadLetter] {
	return table[uint64, helpdesk.DeadLetter]{t, "helpdesk_dead_letters", "seq", []string{"ticket", "helpdesk", "died", "reason"},
		func(k uint64) any { return int64(k) },
		func(d *helpdesk.DeadLetter) []any {
			return []any{text(d.Ticket), text(d.Helpdesk), d.Died, text(d.Reason)}
		}}
}

// table is one of the outbox's tables: the key, the columns queries and
// constraints need, and the whole record as jsonb.
type table[K comparable, V any] struct {
	t      outboxTx
	name   string
	key    string
	cols   []string
	keyArg func(K) any
	values func(*V) []any
}

func (tb table[K, V]) Get(k K) (*V, error) {
	var raw []byte
	err := tb.t.tx.QueryRow(tb.t.ctx, `SELECT record FROM `+tb.name+` WHERE `+tb.key+` = $1`, tb.keyArg(k)).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v V
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, fmt.Errorf("%s %v: %w", tb.name, k, err)
	}
	return &v, nil
}

func (tb table[K, V]) Put(k K, v *V) error {
	rec, err := jsonText(v)
	if err != nil {
		return err
	}
	args := append([]any{tb.keyArg(k)}, tb.values(v)...)
	args = append(args, rec)
	cols, params, set := tb.key, "$1", "record = EXCLUDED.record"
	for i, c := range tb.cols {
		cols += ", " + c
		params += fmt.Sprintf(", $%d", i+2)
		set += ", " + c + " = EXCLUDED." + c
	}
	_, err = tb.t.tx.Exec(tb.t.ctx, fmt.Sprintf(`INSERT INTO %s (%s, record) VALUES (%s, $%d::jsonb) ON CONFLICT (%s) DO UPDATE SET %s`,
		tb.name, cols, params, len(tb.cols)+2, tb.key, set), args...)
	return err
}

func (tb table[K, V]) Delete(k K) error {
	_, err := tb.t.tx.Exec(tb.t.ctx, `DELETE FROM `+tb.name+` WHERE `+tb.key+` = $1`, tb.keyArg(k))
	return err
}

// Each reads the whole table before it calls fn, so fn may use the
// transaction.
func (tb table[K, V]) Each(fn func(V) error) error {
	rows, err := tb.t.tx.Query(tb.t.ctx, `SELECT record FROM `+tb.name+` ORDER BY `+tb.key)
	if err != nil {
		return err
	}
	raws, err := pgx.CollectRows(rows, pgx.RowTo[[]byte])
	if err != nil {
		return err
	}
	for _, raw := range raws {
		var v V
		if err := json.Unmarshal(raw, &v); err != nil {
			return fmt.Errorf("%s: %w", tb.name, err)
		}
		if err := fn(v); err != nil {
			return err
		}
	}
	return nil
}
