PRAGMA foreign_keys = OFF;
BEGIN;
DROP TABLE room_features;
CREATE TABLE rooms_v1 (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    name_key TEXT NOT NULL UNIQUE,
    capacity INTEGER NOT NULL CHECK (capacity BETWEEN 1 AND 10000),
    created_at BIGINT NOT NULL
);
-- archived rooms keep their rows (reservations refer to them) under a name made unique
INSERT INTO rooms_v1
    SELECT id, name, CASE WHEN archived THEN name_key || ' (archived ' || id || ')' ELSE name_key END,
           capacity, created_at
    FROM rooms;
DROP TABLE rooms;
ALTER TABLE rooms_v1 RENAME TO rooms;
COMMIT;
PRAGMA foreign_keys = ON;
