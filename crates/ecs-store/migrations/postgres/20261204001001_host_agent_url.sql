-- Where a host's agent (`ecsd agent`) serves the internal API; NULL for
-- the hosts an API node drives in its own process (`ecsd serve`).
ALTER TABLE compute_hosts ADD COLUMN agent_url TEXT;
