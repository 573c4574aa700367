-- The event log: one row per committed reservation change, written in the transaction that
-- makes the change. `seq` is the cursor: one writer at a time, so it grows in commit order.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL,
    -- for a move between rooms: the room it left, whose subscribers see the event too
    previous_room_id TEXT,
    payload TEXT NOT NULL
);
-- No secondary index: every write pays for one, while a resume reads forward from a recent
-- cursor by `seq` (the primary key) and filters the rooms in that range.

-- One row: which database a cursor belongs to, and how far the log has been pruned.
CREATE TABLE event_log (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    database_id TEXT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_log (id, database_id, pruned_through)
VALUES (1, lower(hex(randomblob(16))), 0);
