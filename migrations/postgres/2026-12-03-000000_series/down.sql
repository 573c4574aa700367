DROP INDEX reservations_series_start;
ALTER TABLE reservations DROP COLUMN series_id;
DROP TABLE series;
