-- A resize between its finish and its confirm or revert: the flavor and
-- host to go back to, and the state the server had (Nova keeps these in
-- the migration record and system metadata). NULL when no resize is open.
ALTER TABLE servers ADD COLUMN old_flavor TEXT;
ALTER TABLE servers ADD COLUMN source_host TEXT;
ALTER TABLE servers ADD COLUMN old_vm_state TEXT;
-- os-server-password: the admin password encrypted to the server's key pair.
ALTER TABLE servers ADD COLUMN password TEXT;
-- UStack attachKeypairs: further key pairs, name -> public key (JSON).
ALTER TABLE servers ADD COLUMN attached_keys TEXT NOT NULL DEFAULT '{}';
CREATE INDEX servers_by_source_host ON servers (source_host);

-- Remote console tokens (Nova's console_auth_tokens): only a hash of the
-- token is kept; it expires.
CREATE TABLE console_tokens (
    token_hash    TEXT PRIMARY KEY,
    server_id     TEXT NOT NULL,
    console_type  TEXT NOT NULL,
    host          TEXT NOT NULL,
    port          BIGINT NOT NULL,
    internal_access_path TEXT,
    expires_at    BIGINT NOT NULL
);
CREATE INDEX console_tokens_by_server ON console_tokens (server_id);

-- The integer id hosts have below microversion 2.53 (Nova's database id),
-- fixed when a host first registers.
ALTER TABLE compute_hosts ADD COLUMN number BIGINT;
UPDATE compute_hosts SET number = (SELECT COUNT(*) FROM compute_hosts c WHERE c.name <= compute_hosts.name);
