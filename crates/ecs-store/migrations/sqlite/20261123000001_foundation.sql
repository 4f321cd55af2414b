-- Identity (Keystone v3 subset), flavors and key pairs.
-- SQLite keeps booleans as INTEGER 0/1: sqlx's Any driver cannot read its BOOLEAN affinity.
-- Times are microseconds since the Unix epoch (BIGINT) on both backends.

CREATE TABLE projects (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    domain_id   TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    enabled     INTEGER NOT NULL DEFAULT TRUE,
    created_at  BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE users (
    id                 TEXT PRIMARY KEY,
    name               TEXT NOT NULL,
    domain_id          TEXT NOT NULL,
    password_hash      TEXT NOT NULL,
    default_project_id TEXT REFERENCES projects (id) ON DELETE SET NULL,
    enabled            INTEGER NOT NULL DEFAULT TRUE,
    created_at         BIGINT NOT NULL,
    UNIQUE (domain_id, name)
);

CREATE TABLE roles (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE
);

CREATE TABLE role_assignments (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    PRIMARY KEY (user_id, project_id, role_id)
);

CREATE TABLE tokens (
    id_hash    TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT REFERENCES projects (id) ON DELETE CASCADE,
    methods    TEXT NOT NULL,
    audit_id   TEXT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    revoked    INTEGER NOT NULL DEFAULT FALSE
);
CREATE INDEX tokens_by_expiry ON tokens (expires_at);

CREATE TABLE flavors (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL UNIQUE,
    vcpus        BIGINT NOT NULL,
    ram_mb       BIGINT NOT NULL,
    disk_gb      BIGINT NOT NULL,
    ephemeral_gb BIGINT NOT NULL DEFAULT 0,
    swap_mb      BIGINT NOT NULL DEFAULT 0,
    rxtx_factor  DOUBLE PRECISION NOT NULL DEFAULT 1.0,
    is_public    INTEGER NOT NULL DEFAULT TRUE,
    disabled     INTEGER NOT NULL DEFAULT FALSE,
    description  TEXT,
    created_at   BIGINT NOT NULL
);

CREATE TABLE flavor_extra_specs (
    flavor_id TEXT NOT NULL REFERENCES flavors (id) ON DELETE CASCADE,
    key       TEXT NOT NULL,
    value     TEXT NOT NULL,
    PRIMARY KEY (flavor_id, key)
);

CREATE TABLE keypairs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    type        TEXT NOT NULL,
    public_key  TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    UNIQUE (user_id, name)
);

-- Images and networks: the records a first start seeds. Their APIs arrive
-- with the servers and resources work; the tables are here so that the
-- seed exists from the first start.
CREATE TABLE images (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    status           TEXT NOT NULL,
    visibility       TEXT NOT NULL,
    owner_project_id TEXT,
    disk_format      TEXT NOT NULL,
    container_format TEXT NOT NULL,
    min_ram_mb       BIGINT NOT NULL DEFAULT 0,
    min_disk_gb      BIGINT NOT NULL DEFAULT 0,
    size_bytes       BIGINT NOT NULL DEFAULT 0,
    os_type          TEXT NOT NULL DEFAULT 'Linux',
    created_at       BIGINT NOT NULL
);

CREATE TABLE networks (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    project_id TEXT,
    shared     INTEGER NOT NULL DEFAULT FALSE,
    created_at BIGINT NOT NULL
);

CREATE TABLE subnets (
    id              TEXT PRIMARY KEY,
    network_id      TEXT NOT NULL REFERENCES networks (id) ON DELETE CASCADE,
    name            TEXT NOT NULL,
    cidr            TEXT NOT NULL,
    gateway_ip      TEXT,
    ip_version      BIGINT NOT NULL,
    dns_nameservers TEXT NOT NULL DEFAULT '',
    created_at      BIGINT NOT NULL
);
