-- A volume-backed server's rebuild once stored its image id as '' instead of none:
-- every later reinstall looked for the image ''.
UPDATE servers SET image_id = NULL WHERE image_id = '';
