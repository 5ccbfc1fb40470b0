-- The web console's sessions on a cluster of replicas (issue 14), so that a
-- browser behind a load balancer is served by any replica. Each row is
-- sealed by the console with a key only the browser's cookie gives
-- (hub/console/sessions.go): the key column is a hash of the cookie, and
-- nothing here opens a session or shows its login token.

-- +goose Up

CREATE TABLE console_sessions (
	key        bytea PRIMARY KEY,
	sealed     bytea NOT NULL,
	expires_at timestamptz NOT NULL
);
CREATE INDEX console_sessions_expires ON console_sessions (expires_at);

-- +goose Down

DROP TABLE console_sessions;
