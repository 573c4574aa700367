-- Rooms and their reservations, as on SQLite: instants are BIGINT microseconds since the Unix
-- epoch (UTC), ids are UUID text. What PostgreSQL adds is the database's own guard of the
-- no-overlap rule, so that several replicas (or a bug in the application's check) cannot
-- double-book.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE rooms (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- the case-folded name: room names are unique ignoring case
    name_key TEXT NOT NULL UNIQUE,
    capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    created_at BIGINT NOT NULL
);

CREATE TABLE reservations (
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
    CHECK (start_at < end_at),
    -- No two CONFIRMED reservations of a room overlap: half-open ranges, as the API says.
    CONSTRAINT reservations_no_overlap EXCLUDE USING gist (
        room_id WITH =,
        int8range(start_at, end_at, '[)') WITH &&
    ) WHERE (status = 'CONFIRMED')
);

CREATE INDEX reservations_room_status_start ON reservations (room_id, status, start_at);
CREATE INDEX reservations_status_start ON reservations (status, start_at);
CREATE INDEX reservations_length ON reservations ((end_at - start_at));
