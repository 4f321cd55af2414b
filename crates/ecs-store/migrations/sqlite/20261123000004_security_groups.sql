-- Security groups with their ingress rules, and which servers are in them.
CREATE TABLE security_groups (
    id          TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    created_at  BIGINT NOT NULL,
    UNIQUE (project_id, name)
);

CREATE TABLE security_group_rules (
    id              TEXT PRIMARY KEY,
    group_id        TEXT NOT NULL REFERENCES security_groups (id) ON DELETE CASCADE,
    protocol        TEXT,
    from_port       BIGINT,
    to_port         BIGINT,
    cidr            TEXT,
    remote_group_id TEXT REFERENCES security_groups (id) ON DELETE CASCADE,
    created_at      BIGINT NOT NULL
);
CREATE INDEX security_group_rules_by_group ON security_group_rules (group_id);

CREATE TABLE server_security_groups (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    group_id  TEXT NOT NULL REFERENCES security_groups (id),
    PRIMARY KEY (server_id, group_id)
);
CREATE INDEX server_security_groups_by_group ON server_security_groups (group_id);
