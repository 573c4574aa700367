-- The event log: one row per committed reservation change, written in the transaction that
-- makes the change. `seq` is the cursor: one writer at a time, so it grows in commit order.
CREATE TABLE events (
    seq INTEGER PRIMARY KEY NOT NULL,
    room_id TEXT NOT NULL,
    -- for a move between rooms: the room it left, whose subscribers see the event too
    previous_room_id TEXT,
    payload TEXT NOT NULL
);
CREATE INDEX events_room_seq ON events (room_id, seq);
CREATE INDEX events_previous_room_seq ON events (previous_room_id, seq) WHERE previous_room_id IS NOT NULL;

-- One row: which database a cursor belongs to, and how far the log has been pruned.
CREATE TABLE event_log (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    database_id TEXT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_log (id, database_id, pruned_through)
VALUES (1, lower(hex(randomblob(16))), 0);
