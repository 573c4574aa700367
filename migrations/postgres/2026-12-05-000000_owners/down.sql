DROP INDEX reservations_owner_start;
ALTER TABLE series DROP COLUMN owner_issuer;
ALTER TABLE series DROP COLUMN owner_subject;
ALTER TABLE reservations DROP COLUMN owner_issuer;
ALTER TABLE reservations DROP COLUMN owner_subject;
