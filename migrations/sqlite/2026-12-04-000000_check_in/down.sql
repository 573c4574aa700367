PRAGMA foreign_keys = OFF;
BEGIN;
CREATE TABLE reservations_new (
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
    series_id TEXT REFERENCES series (id),
    CHECK (start_at < end_at)
);
INSERT INTO reservations_new
    SELECT id, room_id, start_at, end_at, title, organizer_name, organizer_email, CASE status WHEN 'RELEASED' THEN 'CANCELLED' ELSE status END,
           created_at, updated_at, series_id
    FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE INDEX reservations_room_status_start ON reservations (room_id, status, start_at);
CREATE INDEX reservations_status_start ON reservations (status, start_at);
CREATE INDEX reservations_length ON reservations (end_at - start_at);
CREATE INDEX reservations_series_start ON reservations (series_id, start_at)
    WHERE series_id IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
