-- Enrolment and device profiles (issue 16): the tokens store PCs enrol with, kept by their
-- SHA-256 only, and the broker credential each enrolled agent was issued
-- ($7$ hash only). Both whole as jsonb, as hub/store.EnrolToken and
-- hub/store.AgentCredential say, with the columns lookups need.

-- +goose Up

CREATE TABLE enrol_tokens (
	hash   text PRIMARY KEY,
	id     text NOT NULL UNIQUE,
	tenant text COLLATE "C" NOT NULL,
	record jsonb NOT NULL
);

CREATE TABLE agent_credentials (
	tenant text COLLATE "C" NOT NULL,
	store  text COLLATE "C" NOT NULL,
	agent  text COLLATE "C" NOT NULL,
	record jsonb NOT NULL,
	PRIMARY KEY (tenant, store, agent)
);

-- Device profiles (hub/profiles), whole as jsonb.
CREATE TABLE profiles (
	tenant text COLLATE "C" NOT NULL,
	name   text COLLATE "C" NOT NULL,
	record jsonb NOT NULL,
	PRIMARY KEY (tenant, name)
);

-- A new serial number on the same device id (a replaced unit of the same
-- model) starts an install of its own (hub/store.NewInstalls).
ALTER TABLE installs ADD COLUMN serial text NOT NULL DEFAULT '';

-- +goose Down

ALTER TABLE installs DROP COLUMN serial;

DROP TABLE profiles;

DROP TABLE agent_credentials;
DROP TABLE enrol_tokens;
