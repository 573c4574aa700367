-- Rooms v2: place, equipment, time zone, house rules, archiving.
--
-- An archived room gives its name up (another room may take it), so names are unique among
-- active rooms only: a partial unique index replaces the column's UNIQUE constraint, which
-- SQLite can only drop by rebuilding the table (its documented 12-step procedure).
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE rooms_v2 (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- the case-folded name: unique among rooms that are not archived
    name_key TEXT NOT NULL,
    capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    created_at BIGINT NOT NULL,
    -- an IANA zone name: opening hours are read in it
    time_zone TEXT NOT NULL DEFAULT 'UTC',
    building TEXT,
    -- the case-folded building: the `building` filter matches it exactly
    building_key TEXT,
    floor TEXT,
    description TEXT,
    -- the normalised features, sorted, comma-separated (what `Room.features` shows; searched
    -- through room_features)
    features TEXT NOT NULL DEFAULT '',
    archived BOOLEAN NOT NULL DEFAULT FALSE,
    -- the policy (API.md, booking rule 6); NULL is "no limit"
    min_duration_minutes INTEGER,
    max_duration_minutes INTEGER,
    buffer_minutes INTEGER NOT NULL DEFAULT 0,
    booking_horizon_days INTEGER,
    -- "MONDAY 08:00-12:00,MONDAY 13:00-18:00" (read on every booking: no JSON to decode);
    -- NULL is always open
    opening_hours TEXT,
    check_in_required BOOLEAN NOT NULL DEFAULT FALSE,
    check_in_opens_minutes INTEGER NOT NULL DEFAULT 10,
    auto_release_minutes INTEGER NOT NULL DEFAULT 10
);
INSERT INTO rooms_v2 (id, name, name_key, capacity, created_at)
    SELECT id, name, name_key, capacity, created_at FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_v2 RENAME TO rooms;
CREATE UNIQUE INDEX rooms_active_name_key ON rooms (name_key) WHERE NOT archived;

-- "Rooms with all of these features" is a lookup by feature, not a decoding of every room.
CREATE TABLE room_features (
    room_id TEXT NOT NULL REFERENCES rooms (id),
    feature TEXT NOT NULL,
    PRIMARY KEY (room_id, feature)
);
CREATE INDEX room_features_feature ON room_features (feature, room_id);
COMMIT;
PRAGMA foreign_keys = ON;
