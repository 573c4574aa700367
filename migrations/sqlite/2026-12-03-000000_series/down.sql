-- SQLite cannot drop a column with a foreign key: rebuild reservations without it.
PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE reservations_v2 (
    id TEXT PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL REFERENCES rooms (id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    title TEXT,
    organizer_name TEXT NOT NULL,
    organizer_email TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CHECK (start_at < end_at)
);
INSERT INTO reservations_v2
    SELECT id, room_id, start_at, end_at, title, organizer_name, organizer_email, status,
           created_at, updated_at
    FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_v2 RENAME TO reservations;
CREATE INDEX reservations_room_status_start ON reservations (room_id, status, start_at);
CREATE INDEX reservations_status_start ON reservations (status, start_at);
CREATE INDEX reservations_length ON reservations (end_at - start_at);
DROP TABLE series;
COMMIT;
PRAGMA foreign_keys = ON;
