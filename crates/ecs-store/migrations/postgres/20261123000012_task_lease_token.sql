-- Fenced task leases: every claim of a task bumps its lease token, and
-- every write made for a claim (a step's record, a lease renewal) names
-- the token it was claimed with, so a run that lost its lease — to
-- another node, or to a second claim on the same node — writes nothing.
ALTER TABLE tasks ADD COLUMN lease_token BIGINT NOT NULL DEFAULT 0;
