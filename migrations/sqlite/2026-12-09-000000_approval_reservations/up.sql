-- Approval (API.md "Room managers and approval"), the reservations' part. Nullable columns
-- and a partial index only: a 2.x replica on the migrated database reads and writes
-- reservations as before (it names its columns).
--
-- A PENDING reservation is stored as `status = 'CONFIRMED'` with `approval = 'PENDING'`: it
-- holds its slot exactly as CONFIRMED does, so the overlap and buffer probes, the quotas'
-- reads and (on PostgreSQL) the exclusion constraint, all keyed on 'CONFIRMED', hold it with
-- no change, and a replica of the release before sees it as booked. DECLINED and EXPIRED are
-- `status = 'CANCELLED'` with `approval` saying which: the slot is free, for every release.
--
-- One table per migration (each its own transaction): a migration that locked `rooms` and
-- then `reservations` would deadlock with a running replica's cancel, which locks them the
-- other way round (the rolling-upgrade test caught exactly that).
-- NULL: never needed approval; else PENDING, APPROVED, DECLINED or EXPIRED.
ALTER TABLE reservations ADD COLUMN approval TEXT
    CHECK (approval IN ('PENDING', 'APPROVED', 'DECLINED', 'EXPIRED'));
-- While PENDING: when it expires unless decided (NULL once the wait ends, however it ends).
ALTER TABLE reservations ADD COLUMN approval_deadline BIGINT;
ALTER TABLE reservations ADD COLUMN decided_at BIGINT;
ALTER TABLE reservations ADD COLUMN decision_reason TEXT;
-- The expiry job's walk: only reservations waiting for a decision, by deadline.
CREATE INDEX reservations_approval_due ON reservations (approval_deadline)
    WHERE approval_deadline IS NOT NULL;
