-- Approval (API.md "Room managers and approval"), the rooms' part (see the reservations'
-- migration before this one, and why they are two). Columns with defaults: a 2.x replica's
-- rooms need no approval.
ALTER TABLE rooms ADD COLUMN approval_required BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE rooms ADD COLUMN approval_timeout_hours INTEGER NOT NULL DEFAULT 48;
