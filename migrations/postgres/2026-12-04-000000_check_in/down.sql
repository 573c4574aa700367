DROP INDEX reservations_release_due;
UPDATE reservations SET status = 'CANCELLED' WHERE status = 'RELEASED';
ALTER TABLE reservations DROP CONSTRAINT reservations_status_check;
ALTER TABLE reservations
    ADD CONSTRAINT reservations_status_check CHECK (status IN ('CONFIRMED', 'CANCELLED')),
    DROP COLUMN checked_in_at,
    DROP COLUMN released_at,
    DROP COLUMN auto_release_at;
