DROP TABLE room_features;
DROP INDEX rooms_active_name_key;
UPDATE rooms SET name_key = name_key || ' (archived ' || id || ')' WHERE archived;
ALTER TABLE rooms ADD CONSTRAINT rooms_name_key_key UNIQUE (name_key);
ALTER TABLE rooms
    DROP COLUMN time_zone, DROP COLUMN building, DROP COLUMN building_key, DROP COLUMN floor,
    DROP COLUMN description, DROP COLUMN features, DROP COLUMN archived,
    DROP COLUMN min_duration_minutes, DROP COLUMN max_duration_minutes,
    DROP COLUMN buffer_minutes, DROP COLUMN booking_horizon_days, DROP COLUMN opening_hours,
    DROP COLUMN check_in_required, DROP COLUMN check_in_opens_minutes,
    DROP COLUMN auto_release_minutes;
