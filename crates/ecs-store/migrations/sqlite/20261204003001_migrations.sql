-- Every move of a server between hosts (Nova's migration records): cold
-- migrations, resizes, live migrations and evacuations, with their state
-- and the progress of a live one. The number is what Nova's API shows as
-- a migration's id; the uuid is its 2.59 name.
CREATE TABLE migrations (
    id                INTEGER PRIMARY KEY AUTOINCREMENT,
    uuid              TEXT NOT NULL UNIQUE,
    server_id         TEXT NOT NULL,
    -- The task that made the move; one record per task.
    task_id           TEXT,
    project_id        TEXT NOT NULL,
    user_id           TEXT NOT NULL,
    migration_type    TEXT NOT NULL,
    status            TEXT NOT NULL,
    source_compute    TEXT,
    source_node       TEXT,
    dest_compute      TEXT,
    dest_node         TEXT,
    dest_host         TEXT,
    old_flavor_id     TEXT NOT NULL,
    new_flavor_id     TEXT NOT NULL,
    memory_total      BIGINT,
    memory_processed  BIGINT,
    memory_remaining  BIGINT,
    disk_total        BIGINT,
    disk_processed    BIGINT,
    disk_remaining    BIGINT,
    -- A live move asked to finish now (force_complete); the step sending it acts.
    force_complete    INTEGER NOT NULL DEFAULT FALSE,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE UNIQUE INDEX migrations_by_task ON migrations (task_id);
CREATE INDEX migrations_by_server ON migrations (server_id, id);
CREATE INDEX migrations_by_updated ON migrations (updated_at, id);
