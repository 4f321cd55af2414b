-- Servers, their ports, compute hosts, quotas and the durable task engine.
-- JSON documents are TEXT on both backends.

CREATE TABLE compute_hosts (
    id                TEXT PRIMARY KEY,
    name              TEXT NOT NULL UNIQUE,
    driver            TEXT NOT NULL,
    availability_zone TEXT NOT NULL,
    vcpus             BIGINT NOT NULL,
    ram_mb            BIGINT NOT NULL,
    disk_gb           BIGINT NOT NULL,
    cpu_ratio         DOUBLE PRECISION NOT NULL,
    ram_ratio         DOUBLE PRECISION NOT NULL,
    disk_ratio        DOUBLE PRECISION NOT NULL,
    used_vcpus        BIGINT NOT NULL DEFAULT 0,
    used_ram_mb       BIGINT NOT NULL DEFAULT 0,
    used_disk_gb      BIGINT NOT NULL DEFAULT 0,
    running_vms       BIGINT NOT NULL DEFAULT 0,
    enabled           BOOLEAN NOT NULL DEFAULT TRUE,
    heartbeat_at      BIGINT NOT NULL,
    created_at        BIGINT NOT NULL
);

-- What each server holds on its host. One row per server makes
-- allocating and releasing idempotent: a step re-run after a crash
-- finds its row and changes nothing.
CREATE TABLE allocations (
    server_id  TEXT PRIMARY KEY,
    host_id    TEXT NOT NULL REFERENCES compute_hosts (id),
    vcpus      BIGINT NOT NULL,
    ram_mb     BIGINT NOT NULL,
    disk_gb    BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX allocations_by_host ON allocations (host_id);

CREATE TABLE servers (
    id                 TEXT PRIMARY KEY,
    project_id         TEXT NOT NULL,
    user_id            TEXT NOT NULL,
    name               TEXT NOT NULL,
    hostname           TEXT NOT NULL,
    description        TEXT,
    flavor_id          TEXT NOT NULL,
    flavor             TEXT NOT NULL,
    vcpus              BIGINT NOT NULL,
    ram_mb             BIGINT NOT NULL,
    disk_gb            BIGINT NOT NULL,
    image_id           TEXT,
    image_name         TEXT,
    key_name           TEXT,
    key_data           TEXT,
    user_data          TEXT,
    metadata           TEXT NOT NULL DEFAULT '{}',
    security_groups    TEXT NOT NULL DEFAULT '[]',
    block_devices      TEXT NOT NULL DEFAULT '[]',
    requested_networks TEXT NOT NULL DEFAULT '[]',
    availability_zone  TEXT,
    config_drive       BOOLEAN NOT NULL DEFAULT FALSE,
    disk_config        TEXT NOT NULL DEFAULT 'MANUAL',
    access_ipv4        TEXT NOT NULL DEFAULT '',
    access_ipv6        TEXT NOT NULL DEFAULT '',
    reservation_id     TEXT NOT NULL,
    launch_index       BIGINT NOT NULL DEFAULT 0,
    vm_state           TEXT NOT NULL,
    task_state         TEXT,
    power_state        BIGINT NOT NULL DEFAULT 0,
    locked_by          TEXT,
    locked_reason      TEXT,
    host               TEXT,
    fault              TEXT,
    scheduler_hints    TEXT NOT NULL DEFAULT '{}',
    launched_at        BIGINT,
    terminated_at      BIGINT,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    deleted_at         BIGINT
);
CREATE INDEX servers_by_project ON servers (project_id, created_at, id);
CREATE INDEX servers_by_created ON servers (created_at, id);
CREATE INDEX servers_by_reservation ON servers (reservation_id);
CREATE INDEX servers_by_host ON servers (host);
-- Quota usage is counted from live servers; this index answers it alone.
CREATE INDEX servers_live_usage ON servers (project_id, vcpus, ram_mb) WHERE deleted_at IS NULL;

CREATE TABLE server_tags (
    server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    tag       TEXT NOT NULL,
    PRIMARY KEY (server_id, tag)
);

-- A port: one fixed IP and MAC of a server on a network. The address is
-- unique per subnet, which is what keeps concurrent allocations apart.
CREATE TABLE ports (
    id         TEXT PRIMARY KEY,
    project_id TEXT NOT NULL,
    network_id TEXT NOT NULL REFERENCES networks (id),
    subnet_id  TEXT NOT NULL REFERENCES subnets (id),
    address    TEXT NOT NULL,
    mac        TEXT NOT NULL UNIQUE,
    server_id  TEXT REFERENCES servers (id),
    nic_index  BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    UNIQUE (subnet_id, address)
);
CREATE INDEX ports_by_server ON ports (server_id);

-- Per-project limits that differ from the configured defaults.
CREATE TABLE quota_limits (
    project_id TEXT NOT NULL,
    resource   TEXT NOT NULL,
    hard_limit BIGINT NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE tasks (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    parent_id   TEXT REFERENCES tasks (id),
    kind        TEXT NOT NULL,
    server_id   TEXT,
    project_id  TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    phase       TEXT NOT NULL,
    step        BIGINT NOT NULL DEFAULT 0,
    params      TEXT NOT NULL DEFAULT '{}',
    progress    TEXT NOT NULL DEFAULT '{}',
    message     TEXT,
    attempts    BIGINT NOT NULL DEFAULT 0,
    claimed_by  TEXT,
    lease_until BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    finished_at BIGINT
);
CREATE INDEX tasks_unfinished ON tasks (phase, seq);
CREATE INDEX tasks_by_server ON tasks (server_id, seq);
CREATE INDEX tasks_by_parent ON tasks (parent_id);

CREATE TABLE task_events (
    task_id     TEXT NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL,
    name        TEXT NOT NULL,
    host        TEXT,
    started_at  BIGINT NOT NULL,
    finished_at BIGINT,
    result      TEXT,
    traceback   TEXT,
    details     TEXT,
    PRIMARY KEY (task_id, seq)
);
