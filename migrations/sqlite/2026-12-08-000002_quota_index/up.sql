-- Quotas read one person's reservations of one room (API.md "Quotas"): those starting in a
-- range, and how many start after now, by this index a search and a count over it, where the
-- room's index by status scanned every reservation of the room still to come (bench quota:
-- 0.07 of a plain booking with ~1,500 future reservations per room).
CREATE INDEX reservations_room_organizer
    ON reservations (room_id, lower(organizer_email), status, start_at);
