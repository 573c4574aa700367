-- Rooms v2: place, equipment, time zone, house rules, archiving (see the SQLite migration
-- for what each column holds).
ALTER TABLE rooms
    ADD COLUMN time_zone TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN building TEXT,
    ADD COLUMN building_key TEXT,
    ADD COLUMN floor TEXT,
    ADD COLUMN description TEXT,
    ADD COLUMN features TEXT NOT NULL DEFAULT '',
    ADD COLUMN archived BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN min_duration_minutes INTEGER,
    ADD COLUMN max_duration_minutes INTEGER,
    ADD COLUMN buffer_minutes INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN booking_horizon_days INTEGER,
    ADD COLUMN opening_hours TEXT,
    ADD COLUMN check_in_required BOOLEAN NOT NULL DEFAULT FALSE,
    ADD COLUMN check_in_opens_minutes INTEGER NOT NULL DEFAULT 10,
    ADD COLUMN auto_release_minutes INTEGER NOT NULL DEFAULT 10;

-- An archived room gives its name up: names are unique among active rooms only.
ALTER TABLE rooms DROP CONSTRAINT rooms_name_key_key;
CREATE UNIQUE INDEX rooms_active_name_key ON rooms (name_key) WHERE NOT archived;

CREATE TABLE room_features (
    room_id TEXT NOT NULL REFERENCES rooms (id),
    feature TEXT NOT NULL,
    PRIMARY KEY (room_id, feature)
);
CREATE INDEX room_features_feature ON room_features (feature, room_id);
