-- Helpdesk feedback on a cluster of replicas (issue 14): the replica that
-- holds the helpdesk delivery records what a helpdesk said about a ticket
-- (that it opened it, or that a person closed it there) here, and the
-- replica that holds the incident's partition applies it in its engine and
-- deletes the row. The incident's engine is the one place that may write
-- it: a replica's own view of an incident can be hours old.

-- +goose Up

CREATE TABLE helpdesk_feedback (
	seq       bigserial PRIMARY KEY,
	partition integer NOT NULL CHECK (partition >= 0),
	incident  text NOT NULL,
	ticket    jsonb NOT NULL,           -- incident.HelpdeskTicket
	closed    text NOT NULL DEFAULT '', -- a person's close: the helpdesk's state; '' for a ticket opened
	queued_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX helpdesk_feedback_partition ON helpdesk_feedback (partition, seq);

-- +goose Down

DROP TABLE helpdesk_feedback;
