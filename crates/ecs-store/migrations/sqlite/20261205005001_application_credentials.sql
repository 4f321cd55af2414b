-- Keystone application credentials: a secret (argon2 PHC string, never
-- the secret itself) standing for a user in one project with some of the
-- user's roles. Deleting the user or the project deletes them.
CREATE TABLE application_credentials (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    description  TEXT,
    user_id      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id   TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    secret_hash  TEXT NOT NULL,
    expires_at   BIGINT,
    unrestricted INTEGER NOT NULL DEFAULT FALSE,
    -- JSON arrays: role ids, and access rules ({id, service, method, path}).
    role_ids     TEXT NOT NULL,
    access_rules TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (user_id, name)
);
CREATE INDEX application_credentials_by_project ON application_credentials (project_id);

-- The application credential a token was issued for (checked on every
-- validation: deleting the credential ends its tokens).
ALTER TABLE tokens ADD COLUMN application_credential_id TEXT;
