-- Recurring series: the rule a set of reservations was booked by. Each occurrence stays an
-- ordinary reservation that names its series.
CREATE TABLE series (
    id TEXT PRIMARY KEY NOT NULL,
    -- the room the series was booked in (an occurrence may later move to another)
    room_id TEXT NOT NULL REFERENCES rooms (id),
    -- RFC 5545 RRULE, with DTSTART = first_start in time_zone
    rrule TEXT NOT NULL,
    time_zone TEXT NOT NULL,
    first_start BIGINT NOT NULL,
    title TEXT,
    organizer_name TEXT NOT NULL,
    organizer_email TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

ALTER TABLE reservations ADD COLUMN series_id TEXT REFERENCES series (id);

-- A series' occurrences by start: `Series.occurrences` and `cancelSeries`.
CREATE INDEX reservations_series_start ON reservations (series_id, start_at)
    WHERE series_id IS NOT NULL;
