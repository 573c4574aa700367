-- Room managers and quotas (API.md "Room managers and approval", "Quotas"). Columns only
-- added, all with defaults: a 2.0.0 replica on the migrated database reads and writes rooms
-- as before (it names its columns), and its rooms have no managers and no quotas.
-- `managers`: the entries (a token subject, or `role:<name>`), one per line, sorted.
ALTER TABLE rooms ADD COLUMN managers TEXT NOT NULL DEFAULT '';
-- null: no limit.
ALTER TABLE rooms ADD COLUMN max_hours_per_person_per_week INTEGER;
ALTER TABLE rooms ADD COLUMN max_active_reservations_per_person INTEGER;
