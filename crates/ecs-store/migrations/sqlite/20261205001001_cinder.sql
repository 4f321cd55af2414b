-- Cinder v3 over the volume records: metadata, bootable, sources, volume
-- types, attachment modes and connectors.
ALTER TABLE volumes ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE volumes ADD COLUMN bootable BIGINT NOT NULL DEFAULT 0;
ALTER TABLE volumes ADD COLUMN source_volid TEXT;
ALTER TABLE volumes ADD COLUMN image_id TEXT;
ALTER TABLE volume_snapshots ADD COLUMN metadata TEXT NOT NULL DEFAULT '{}';
ALTER TABLE volume_attachments ADD COLUMN attach_mode TEXT NOT NULL DEFAULT 'rw';
ALTER TABLE volume_attachments ADD COLUMN connector TEXT;

CREATE TABLE volume_types (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    description TEXT,
    is_public   BIGINT NOT NULL DEFAULT 1,
    extra_specs TEXT NOT NULL DEFAULT '{}',
    created_at  BIGINT NOT NULL
);
-- Cinder's default type, and the EVS disk types ECS disks are made with.
INSERT INTO volume_types (id, name, description, created_at) VALUES
    ('d0000000-0000-4000-8000-000000000001', '__DEFAULT__', 'Default Volume Type', 0),
    ('d0000000-0000-4000-8000-000000000002', 'SATA', 'Common I/O', 0),
    ('d0000000-0000-4000-8000-000000000003', 'SAS', 'High I/O', 0),
    ('d0000000-0000-4000-8000-000000000004', 'SSD', 'Ultra-high I/O', 0),
    ('d0000000-0000-4000-8000-000000000005', 'GPSSD', 'General purpose SSD', 0),
    ('d0000000-0000-4000-8000-000000000006', 'ESSD', 'Extreme SSD', 0);
