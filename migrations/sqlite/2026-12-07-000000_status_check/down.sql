-- Back to the IN list.
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
    status TEXT NOT NULL CHECK (status IN ('CONFIRMED', 'CANCELLED', 'RELEASED')),
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    series_id TEXT REFERENCES series (id),
    checked_in_at BIGINT,
    released_at BIGINT,
    -- when it is released unless checked in (fixed at booking or move); NULL: never
    auto_release_at BIGINT,
    owner_subject TEXT,
    owner_issuer TEXT,
    CHECK (start_at < end_at)
);
INSERT INTO reservations_new
    SELECT id, room_id, start_at, end_at, title, organizer_name, organizer_email, status,
           created_at, updated_at, series_id, checked_in_at, released_at, auto_release_at,
           owner_subject, owner_issuer
    FROM reservations;
DROP TABLE reservations;
ALTER TABLE reservations_new RENAME TO reservations;
CREATE INDEX reservations_room_status_start ON reservations (room_id, status, start_at);
CREATE INDEX reservations_status_start ON reservations (status, start_at);
CREATE INDEX reservations_length ON reservations (end_at - start_at);
CREATE INDEX reservations_series_start ON reservations (series_id, start_at)
    WHERE series_id IS NOT NULL;
CREATE INDEX reservations_release_due ON reservations (auto_release_at)
    WHERE auto_release_at IS NOT NULL;
CREATE INDEX reservations_owner_start ON reservations (owner_issuer, owner_subject, start_at)
    WHERE owner_subject IS NOT NULL;
COMMIT;
PRAGMA foreign_keys = ON;
