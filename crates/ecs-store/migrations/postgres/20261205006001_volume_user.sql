-- Who made a volume: Cinder shows its user_id.
ALTER TABLE volumes ADD COLUMN user_id TEXT;
