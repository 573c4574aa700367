-- Check-in and release: RELEASED is a status; a reservation remembers when it was checked in
-- and released, and (while it may still be released) the moment it will be: `auto_release_at`,
-- fixed when it is booked or moved (a later policy change does not touch it).
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations
    ADD CONSTRAINT reservations_status_check
        CHECK (status IN ('CONFIRMED', 'CANCELLED', 'RELEASED')),
    ADD COLUMN checked_in_at BIGINT,
    ADD COLUMN released_at BIGINT,
    ADD COLUMN auto_release_at BIGINT;

-- The release task's next deadline and its due reservations: the pending ones only (every
-- change that ends a reservation's wait for check-in sets auto_release_at back to NULL; the
-- condition names no status, so SQLite can use the index with the status as a parameter).
CREATE INDEX reservations_release_due ON reservations (auto_release_at)
    WHERE auto_release_at IS NOT NULL;
