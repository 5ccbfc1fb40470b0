-- storehub's store on PostgreSQL: what hub/store.Bolt keeps in one bbolt
-- file, as tables. The records the engine restarts from and the incident
-- snapshots are kept whole as jsonb (what the Go types say), with the
-- columns queries and constraints need beside them; the event log, the
-- timelines, episodes, installs and the audit trail are plain columns.
-- Text that orders output (tenants, stores, devices, keys) is COLLATE "C":
-- byte order, as the bbolt store lists it, whatever the database's locale.

-- +goose Up

CREATE TABLE incidents (
	id        text PRIMARY KEY,
	number    bigint NOT NULL,          -- INC-000042: 42; orders listings newest first
	key       text COLLATE "C" NOT NULL, -- the fingerprint: tenant/store/device/fault
	kind      text NOT NULL,
	tenant    text COLLATE "C" NOT NULL,
	store     text COLLATE "C" NOT NULL,
	device    text COLLATE "C" NOT NULL,
	fault     text NOT NULL,
	state     text NOT NULL CHECK (state IN ('open', 'acknowledged', 'resolved', 'closed')),
	priority  integer NOT NULL,
	model     text NOT NULL,
	opened_at timestamptz NOT NULL,
	version   bigint NOT NULL,
	record    jsonb NOT NULL
);
-- One live incident per fingerprint: two engines (two replicas) can never
-- both open one; the second commit fails and stores nothing.
CREATE UNIQUE INDEX incidents_one_live_per_fingerprint ON incidents (key) WHERE state IN ('open', 'acknowledged');
CREATE INDEX incidents_newest ON incidents (number DESC, id DESC);
CREATE INDEX incidents_of_store ON incidents (tenant, store, number DESC);
CREATE INDEX incidents_chronic ON incidents (opened_at) WHERE kind = 'chronic';

CREATE TABLE timeline (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	incident_id text NOT NULL REFERENCES incidents (id),
	at          timestamptz NOT NULL,
	kind        text NOT NULL,
	author      text NOT NULL,
	body        text NOT NULL
);
CREATE INDEX timeline_of_incident ON timeline (incident_id, seq);

-- The notification stream connectors follow. Sequence numbers come from the
-- counter row, whose lock a commit holds until it ends: numbers become
-- visible in order, so a consumer past N never misses a smaller one.
CREATE TABLE counters (
	name  text PRIMARY KEY,
	value bigint NOT NULL
);
INSERT INTO counters (name, value) VALUES ('notifications', 0);

CREATE TABLE notifications (
	seq         bigint PRIMARY KEY,
	kind        text NOT NULL,
	at          timestamptz NOT NULL,
	incident_id text NOT NULL,
	record      jsonb NOT NULL -- the notification with its incident snapshot
);

CREATE TABLE cursors (
	consumer text PRIMARY KEY,
	seq      bigint NOT NULL
);

-- The append-only event log reports read; pruned by age (log_retention).
CREATE TABLE event_log (
	seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at          timestamptz NOT NULL,
	kind        text NOT NULL,
	tenant      text COLLATE "C" NOT NULL,
	store       text COLLATE "C" NOT NULL,
	agent       text NOT NULL,
	device      text COLLATE "C" NOT NULL,
	device_kind text NOT NULL,
	vendor      text NOT NULL,
	model       text NOT NULL,
	firmware    text NOT NULL,
	state       text NOT NULL,
	faults      text[],
	since       timestamptz,
	duration_s  double precision NOT NULL,
	flapping    boolean NOT NULL,
	suppressed  text NOT NULL,
	incident_id text NOT NULL,
	detail      text NOT NULL
);
CREATE INDEX event_log_by_time ON event_log (at, seq);
CREATE INDEX event_log_of_device ON event_log (tenant, store, device, at);

-- What the engine restarts from.
CREATE TABLE stores (
	tenant text COLLATE "C" NOT NULL,
	store  text COLLATE "C" NOT NULL,
	record jsonb NOT NULL,
	PRIMARY KEY (tenant, store)
);
CREATE TABLE agents (
	tenant text COLLATE "C" NOT NULL,
	store  text COLLATE "C" NOT NULL,
	agent  text COLLATE "C" NOT NULL,
	record jsonb NOT NULL,
	PRIMARY KEY (tenant, store, agent)
);
CREATE TABLE devices (
	tenant text COLLATE "C" NOT NULL,
	store  text COLLATE "C" NOT NULL,
	device text COLLATE "C" NOT NULL,
	record jsonb NOT NULL,
	PRIMARY KEY (tenant, store, device)
);
CREATE TABLE windows (
	id     text PRIMARY KEY,
	tenant text NOT NULL,
	store  text NOT NULL,
	record jsonb NOT NULL
);

-- Fault episodes, for chronic detection and "how often on this device and
-- this model". start_ns is exact (nanoseconds since 1970): the engine
-- compares episode starts with the times it keeps itself.
CREATE TABLE episodes (
	fingerprint text COLLATE "C" NOT NULL,
	start_ns    bigint NOT NULL,
	tenant      text,           -- of a device fault's fingerprint; NULL otherwise
	fault       text,
	model       text NOT NULL,  -- the device's model when recorded; '' unknown
	PRIMARY KEY (fingerprint, start_ns)
);
CREATE INDEX episodes_by_start ON episodes (start_ns);
CREATE INDEX episodes_by_model ON episodes (tenant, model, fault, start_ns) WHERE model <> '';

-- Each device's stretches as one vendor and model (store.Install);
-- valid_from '-infinity' is a device known from before the history began.
CREATE TABLE installs (
	tenant     text COLLATE "C" NOT NULL,
	store      text COLLATE "C" NOT NULL,
	device     text COLLATE "C" NOT NULL,
	valid_from timestamptz NOT NULL,
	agent      text NOT NULL,
	kind       text NOT NULL,
	vendor     text NOT NULL,
	model      text NOT NULL,
	PRIMARY KEY (tenant, store, device, valid_from)
);

-- The remote-query audit trail: append-only, which the trigger enforces.
CREATE TABLE audit (
	seq        bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
	at         timestamptz NOT NULL,
	event      text NOT NULL,
	request_id text NOT NULL,
	who        text NOT NULL,
	tenant     text NOT NULL,
	store      text NOT NULL,
	agent      text NOT NULL,
	device     text NOT NULL,
	op         text NOT NULL,
	args       jsonb,
	ok         boolean NOT NULL,
	code       text NOT NULL,
	error      text NOT NULL,
	took_ms    double precision NOT NULL
);
CREATE INDEX audit_by_time ON audit (at);

-- +goose StatementBegin
CREATE FUNCTION audit_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'the audit trail is append-only';
END
$$;
-- +goose StatementEnd
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
	FOR EACH ROW EXECUTE FUNCTION audit_is_append_only();

-- A commit whose outcome the hub did not hear (the connection broke while
-- it committed) is tried again with the same token; a token already here
-- means it was stored. PruneLog forgets tokens after a day.
CREATE TABLE commits (
	token bytea PRIMARY KEY,
	at    timestamptz NOT NULL DEFAULT now()
);

-- The helpdesk outbox (hub/helpdesk): one record per ticket (an incident
-- occurrence), the queue of calls, and the calls given up on.
CREATE TABLE helpdesk_tickets (
	key          text PRIMARY KEY,        -- incident key#occurrence
	incident_key text NOT NULL,
	occurrence   text NOT NULL,
	helpdesk     text NOT NULL,           -- the route's helpdesk, or none
	external_id  text NOT NULL UNIQUE,    -- the idempotency marker the helpdesk is searched for
	ticket_id    text NOT NULL,           -- the helpdesk's id once it created the ticket
	created      timestamptz NOT NULL,
	finished     timestamptz,
	record       jsonb NOT NULL
);
CREATE SEQUENCE helpdesk_call_seq;
CREATE TABLE helpdesk_calls (
	seq      bigint PRIMARY KEY,
	ticket   text NOT NULL,
	kind     text NOT NULL,
	enqueued timestamptz NOT NULL,
	next_at  timestamptz NOT NULL,
	attempts integer NOT NULL,
	record   jsonb NOT NULL
);
CREATE INDEX helpdesk_calls_of_ticket ON helpdesk_calls (ticket, seq);
CREATE TABLE helpdesk_dead_letters (
	seq      bigint PRIMARY KEY,
	ticket   text NOT NULL,
	helpdesk text NOT NULL,
	died     timestamptz NOT NULL,
	reason   text NOT NULL,
	record   jsonb NOT NULL
);

-- +goose Down

DROP TABLE helpdesk_dead_letters, helpdesk_calls, helpdesk_tickets, commits, audit, installs, episodes, windows, devices, agents,
	stores, event_log, cursors, notifications, counters, timeline, incidents;
DROP SEQUENCE helpdesk_call_seq;
DROP FUNCTION audit_is_append_only();
