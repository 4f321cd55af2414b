-- Image metadata (Nova's image metadata API; Glance's properties), and
-- where an imported image's file lives.
ALTER TABLE images ADD COLUMN properties TEXT NOT NULL DEFAULT '{}';
