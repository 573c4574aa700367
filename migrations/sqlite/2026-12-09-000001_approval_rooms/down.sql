ALTER TABLE rooms DROP COLUMN approval_timeout_hours;
ALTER TABLE rooms DROP COLUMN approval_required;
