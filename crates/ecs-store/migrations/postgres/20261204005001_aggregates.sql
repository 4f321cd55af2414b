-- Host aggregates (Nova's os-aggregates): named groups of compute hosts
-- with metadata. A host's availability zone is its aggregates'
-- `availability_zone` metadata; tenant isolation (`filter_tenant_id`) and
-- dedicated hosts (`dedicated_project_id`) are metadata too.
-- Deleted aggregates keep their row so that an integer id is never reused.
CREATE TABLE aggregates (
    id         BIGINT PRIMARY KEY,
    uuid       TEXT NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT,
    deleted_at BIGINT
);
CREATE UNIQUE INDEX aggregates_live_name ON aggregates (name) WHERE deleted_at IS NULL;

-- Hosts by name, as Nova keys them (a host may be named before it registers).
CREATE TABLE aggregate_hosts (
    aggregate_id BIGINT NOT NULL REFERENCES aggregates (id),
    host         TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, host)
);
CREATE INDEX aggregate_hosts_by_host ON aggregate_hosts (host);

CREATE TABLE aggregate_metadata (
    aggregate_id BIGINT NOT NULL REFERENCES aggregates (id),
    key          TEXT NOT NULL,
    value        TEXT NOT NULL,
    PRIMARY KEY (aggregate_id, key)
);
CREATE INDEX aggregate_metadata_by_key ON aggregate_metadata (key);
