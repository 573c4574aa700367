ALTER TABLE rooms DROP COLUMN max_active_reservations_per_person;
ALTER TABLE rooms DROP COLUMN max_hours_per_person_per_week;
ALTER TABLE rooms DROP COLUMN managers;
