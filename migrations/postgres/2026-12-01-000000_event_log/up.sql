-- The event log: one row per committed reservation change, written in the transaction that
-- makes the change. `seq` is the cursor. Identity values are handed out before commit, so
-- rows can become visible out of `seq` order across rooms; the reader (src/events/pg.rs)
-- delivers strictly in `seq` order and waits at a gap until every transaction that could
-- still fill it has ended. Within one room, the room's row lock is held from before `seq` is
-- taken until commit, so a room's events are in its commit order.
CREATE TABLE events (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    room_id TEXT NOT NULL,
    previous_room_id TEXT,
    payload TEXT NOT NULL
);
-- No secondary index: every write pays for one, while a resume reads forward from a recent
-- cursor by `seq` (the primary key) and filters the rooms in that range.

CREATE TABLE event_log (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    database_id TEXT NOT NULL,
    pruned_through BIGINT NOT NULL
);
INSERT INTO event_log (id, database_id, pruned_through)
VALUES (1, md5(random()::text || clock_timestamp()::text), 0);
