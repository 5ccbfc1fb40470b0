-- Several hub replicas over one database (issue 14, hub/cluster): the partitions'
-- leases and the replicas' heartbeats.

-- +goose Up

-- One row per partition (a fixed number of them, a hash of tenant/store;
-- the last one is the helpdesk delivery's). holder '' is free. epoch grows
-- at every change of holder: a commit of a partition's engine locks the
-- row FOR SHARE and checks its epoch, so a replica that lost the lease can
-- commit nothing more, and the one taking the lease over waits for a
-- commit in progress to end. Times are the database's (now()), so the
-- replicas' clocks do not matter.
CREATE TABLE cluster_leases (
	partition  integer PRIMARY KEY CHECK (partition >= 0),
	holder     text NOT NULL,
	epoch      bigint NOT NULL,
	expires_at timestamptz NOT NULL
);

-- The replicas alive: each partition's fair share is counted among them.
CREATE TABLE cluster_members (
	replica  text PRIMARY KEY,
	api_url  text NOT NULL,
	seen_at  timestamptz NOT NULL,
	expires_at timestamptz NOT NULL
);

-- +goose Down

DROP TABLE cluster_members, cluster_leases;
