-- EC2-style access keys (Keystone's OS-EC2 credentials), used to verify
-- Huawei SDK-HMAC-SHA256 signatures. The secret is kept in clear: an HMAC
-- signature can only be verified by recomputing it with the secret itself
-- (a hash of it would not do), as Keystone keeps EC2 secrets.
CREATE TABLE credentials (
    access     TEXT PRIMARY KEY,
    secret     TEXT NOT NULL,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    project_id TEXT NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL
);
CREATE INDEX credentials_by_user ON credentials (user_id);
