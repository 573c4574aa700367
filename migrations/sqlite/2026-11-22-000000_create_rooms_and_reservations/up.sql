-- Rooms and their reservations. Instants are integers: microseconds since the Unix epoch, UTC.
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
    CHECK (start_at < end_at)
);

-- The overlap check and a room's listing: one probe into a room's CONFIRMED reservations by start.
CREATE INDEX reservations_room_status_start ON reservations (room_id, status, start_at);
-- Listings across all rooms, by start.
CREATE INDEX reservations_status_start ON reservations (status, start_at);
-- The longest reservation bounds how far before a window a reservation reaching into it can start.
CREATE INDEX reservations_length ON reservations (end_at - start_at);
