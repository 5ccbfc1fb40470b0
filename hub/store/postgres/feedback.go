package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/storewatch/storewatch/hub/incident"
)

// Feedback is what a helpdesk said about an incident's ticket, queued by
// the replica that holds the helpdesk delivery for the replica that holds
// the incident's partition (migration 00017).
type Feedback struct {
	Seq       int64
	Partition int
	Incident  string
	Ticket    incident.HelpdeskTicket
	// Closed is the helpdesk's state when a person closed the ticket
	// there; empty when the helpdesk opened it.
	Closed string
}

// QueueFeedback records f for its partition's holder.
func (s *Store) QueueFeedback(f Feedback) error {
	t, err := json.Marshal(f.Ticket)
	if err != nil {
		return fmt.Errorf("store: helpdesk feedback: %w", err)
	}
	return s.read("helpdesk feedback", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `INSERT INTO helpdesk_feedback (partition, incident, ticket, closed) VALUES ($1, $2, $3::jsonb, $4)`,
			f.Partition, text(f.Incident), string(t), text(f.Closed))
		return err
	})
}

// PendingFeedback returns up to limit queued feedbacks of partition, oldest
// first.
func (s *Store) PendingFeedback(partition, limit int) ([]Feedback, error) {
	var out []Feedback
	err := s.read("helpdesk feedback", func(ctx context.Context) error {
		out = out[:0]
		rows, err := s.pool.Query(ctx, `SELECT seq, incident, ticket, closed FROM helpdesk_feedback WHERE partition = $1 ORDER BY seq LIMIT $2`, partition, limit)
		if err != nil {
			return err
		}
		var f Feedback
		var ticket []byte
		_, err = pgx.ForEachRow(rows, []any{&f.Seq, &f.Incident, &ticket, &f.Closed}, func() error {
			f.Partition = partition
			f.Ticket = incident.HelpdeskTicket{}
			if err := json.Unmarshal(ticket, &f.Ticket); err != nil {
				return fmt.Errorf("feedback %d: %w", f.Seq, err)
			}
			out = append(out, f)
			return nil
		})
		return err
	})
	return out, err
}

// DoneFeedback deletes a feedback its partition's engine has applied.
func (s *Store) DoneFeedback(seq int64) error {
	return s.read("helpdesk feedback", func(ctx context.Context) error {
		_, err := s.pool.Exec(ctx, `DELETE FROM helpdesk_feedback WHERE seq = $1`, seq)
		return err
	})
}
