-- Ports as a resource of their own: created by users (kept when the
-- server goes) or by Nova for a requested network (deleted with it).
ALTER TABLE ports ADD COLUMN name TEXT NOT NULL DEFAULT '';
ALTER TABLE ports ADD COLUMN preserve_on_delete INTEGER NOT NULL DEFAULT FALSE;
ALTER TABLE subnets ADD COLUMN allocation_pools TEXT NOT NULL DEFAULT '[]';
