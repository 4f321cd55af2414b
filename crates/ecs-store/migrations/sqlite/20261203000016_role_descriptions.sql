-- Keystone's roles carry an optional description (`POST /v3/roles`).
ALTER TABLE roles ADD COLUMN description TEXT;
