-- The ECS-native settings kept beside the server records (issue 19):
-- a project's recycle bin and other settings (JSON text by name), each
-- server's ECS options (metadata options, serial console, auto-terminate
-- time, whether it lies in the recycle bin: JSON text), and launch
-- templates with their versions.
CREATE TABLE ecs_project_settings (
    project_id  TEXT NOT NULL,
    name        TEXT NOT NULL,
    value       TEXT NOT NULL,
    PRIMARY KEY (project_id, name)
);
CREATE TABLE ecs_server_options (
    server_id   TEXT PRIMARY KEY,
    project_id  TEXT NOT NULL,
    options     TEXT NOT NULL
);
CREATE TABLE ecs_launch_templates (
    id              TEXT PRIMARY KEY,
    project_id      TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL,
    default_version BIGINT NOT NULL,
    latest_version  BIGINT NOT NULL,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    UNIQUE (project_id, name)
);
CREATE TABLE ecs_launch_template_versions (
    id              TEXT PRIMARY KEY,
    template_id     TEXT NOT NULL REFERENCES ecs_launch_templates (id) ON DELETE CASCADE,
    project_id      TEXT NOT NULL,
    version_number  BIGINT NOT NULL,
    description     TEXT NOT NULL,
    template_data   TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    UNIQUE (template_id, version_number)
);
CREATE INDEX ecs_launch_template_versions_by_project ON ecs_launch_template_versions (project_id, created_at);
