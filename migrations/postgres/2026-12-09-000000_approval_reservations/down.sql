DROP INDEX reservations_approval_due;
ALTER TABLE reservations DROP COLUMN decision_reason;
ALTER TABLE reservations DROP COLUMN decided_at;
ALTER TABLE reservations DROP COLUMN approval_deadline;
ALTER TABLE reservations DROP COLUMN approval;
