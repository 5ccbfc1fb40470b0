-- A replica's remote queries look a device up by its store's name, in
-- every tenant when the engineer names only the store (hub/directory.go):
-- the primary key, which starts with the tenant, cannot serve that. At
-- 30,000 stores the alternative was reading all 900,000 devices.

-- +goose Up

CREATE INDEX devices_by_store ON devices (store);

-- +goose Down

DROP INDEX devices_by_store;
