-- ECS auto recovery (seed 002 §11.1): a server's setting, once a user set
-- it (no row: the default, on).
CREATE TABLE server_auto_recovery (
    server_id TEXT PRIMARY KEY,
    enabled   TEXT NOT NULL
);
