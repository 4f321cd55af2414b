-- Glance v2: what an image record needs beyond Nova's view of it (its data's
-- hashes, protection, tags), and the members of shared images.
ALTER TABLE images ADD COLUMN protected INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN os_hidden INTEGER NOT NULL DEFAULT 0;
ALTER TABLE images ADD COLUMN checksum TEXT;
ALTER TABLE images ADD COLUMN os_hash_algo TEXT;
ALTER TABLE images ADD COLUMN os_hash_value TEXT;
ALTER TABLE images ADD COLUMN virtual_size BIGINT;
ALTER TABLE images ADD COLUMN tags TEXT NOT NULL DEFAULT '[]';
ALTER TABLE images ADD COLUMN updated_at BIGINT;

CREATE TABLE image_members (
    image_id   TEXT NOT NULL REFERENCES images (id) ON DELETE CASCADE,
    member_id  TEXT NOT NULL,
    status     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (image_id, member_id)
);
CREATE INDEX image_members_member ON image_members (member_id);
