-- Volumes, their attachments to servers, and snapshots of them.
CREATE TABLE volumes (
    id                TEXT PRIMARY KEY,
    project_id        TEXT NOT NULL,
    name              TEXT NOT NULL DEFAULT '',
    description       TEXT NOT NULL DEFAULT '',
    size_gb           BIGINT NOT NULL,
    status            TEXT NOT NULL,
    volume_type       TEXT NOT NULL DEFAULT 'SATA',
    availability_zone TEXT NOT NULL,
    snapshot_id       TEXT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL
);
CREATE INDEX volumes_by_project ON volumes (project_id, created_at);

-- One attachment per volume (no multi-attach).
CREATE TABLE volume_attachments (
    volume_id  TEXT PRIMARY KEY REFERENCES volumes (id) ON DELETE CASCADE,
    id         TEXT NOT NULL UNIQUE,
    server_id  TEXT NOT NULL REFERENCES servers (id),
    device     TEXT NOT NULL,
    delete_on_termination INTEGER NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL,
    UNIQUE (server_id, device)
);
CREATE INDEX volume_attachments_by_server ON volume_attachments (server_id);

CREATE TABLE volume_snapshots (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    volume_id   TEXT NOT NULL REFERENCES volumes (id),
    name        TEXT NOT NULL DEFAULT '',
    description TEXT NOT NULL DEFAULT '',
    size_gb     BIGINT NOT NULL,
    status      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
