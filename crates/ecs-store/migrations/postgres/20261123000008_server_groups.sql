-- Server groups: a placement policy over their members.
CREATE TABLE server_groups (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    user_id    TEXT NOT NULL,
    name       TEXT NOT NULL,
    policy     TEXT NOT NULL,
    max_server_per_host BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX server_groups_by_project ON server_groups (project_id);

CREATE TABLE server_group_members (
    group_id  TEXT NOT NULL REFERENCES server_groups (id) ON DELETE CASCADE,
    server_id TEXT NOT NULL,
    PRIMARY KEY (group_id, server_id)
);
CREATE INDEX server_group_members_by_server ON server_group_members (server_id);
