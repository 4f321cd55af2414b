-- Host liveness, as Nova's services table keeps it: an operator may force
-- a host down (its service is down whatever its heartbeat says) and give
-- a reason for disabling it; started_at is when its process last started.
ALTER TABLE compute_hosts ADD COLUMN forced_down INTEGER NOT NULL DEFAULT FALSE;
ALTER TABLE compute_hosts ADD COLUMN disabled_reason TEXT;
ALTER TABLE compute_hosts ADD COLUMN started_at BIGINT;
