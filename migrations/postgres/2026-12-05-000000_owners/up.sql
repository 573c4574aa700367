-- Secured mode: who booked. The owner of a reservation or series is the `sub` and `iss` of
-- the token that booked it; NULL for what was booked in open mode (only admins change those).
ALTER TABLE reservations ADD COLUMN owner_subject TEXT;
ALTER TABLE reservations ADD COLUMN owner_issuer TEXT;
ALTER TABLE series ADD COLUMN owner_subject TEXT;
ALTER TABLE series ADD COLUMN owner_issuer TEXT;

-- `me { reservations }`: a caller's own reservations by start.
CREATE INDEX reservations_owner_start ON reservations (owner_issuer, owner_subject, start_at)
    WHERE owner_subject IS NOT NULL;
