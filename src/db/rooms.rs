//! Rooms: create, update, archive and restore; reading them, what is free and busy in them.

use super::*;

impl Db {
    /// Adds a room; its name must be unique among active rooms, ignoring case.
    pub async fn create_room(&self, details: RoomDetails) -> Result<Room> {
        self.write(move |conn, now| {
            let id = new_id();
            let key = details.name.key();
            if RoomRow::name_taken(conn, &key, "")? {
                return Err(name_taken(&details));
            }
            let row = room_row(id, domain::to_micros(now), &details, false);
            // Two replicas creating the same name at once: the unique index decides.
            unique_name(row.insert(conn), &details)?;
            RoomRow::set_features(conn, &row.id.0.to_string(), details.features.names())?;
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    /// Changes room `id` as `change` says, in one transaction. Reservations are not touched:
    /// a new policy applies to bookings from now on.
    /// `actor` must manage the room (admins do).
    pub async fn update_room<F>(&self, id: Uuid, change: F, actor: Actor) -> Result<Room>
    where
        F: FnOnce(RoomDetails) -> RoomDetails + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, _now| {
            let current = find_room_for_update(conn, &inner.rules, id)?;
            let room = room_from_row(current.clone())?;
            actor.refuse_unless_manager(&room.managers, "updateRoom")?;
            let details = change(room.details()?);
            if !room.archived && RoomRow::name_taken(conn, &details.name.key(), &id.to_string())? {
                return Err(name_taken(&details));
            }
            let row = room_row(id, current.created_at, &details, room.archived);
            unique_name(row.update(conn), &details)?;
            if details.features != room.features {
                RoomRow::set_features(conn, &id.to_string(), details.features.names())?;
            }
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    /// Archives room `id`. CONFIRMED reservations that have not ended refuse it
    /// (`ROOM_IN_USE`) unless `cancel_future`, which cancels each (an event each) in the same
    /// transaction. An archived room is returned unchanged.
    pub async fn archive_room(&self, id: Uuid, cancel_future: bool) -> Result<Room> {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, now| {
            let at = domain::to_micros(now);
            // Reservation rows before the room, as every other write locks them.
            let pending = ReservationRow::lock_not_ended(conn, &id.to_string(), at)?;
            let mut row = find_room_for_update(conn, &inner.rules, id)?;
            if row.rules.archived {
                return Ok((room_from_row(row)?, Vec::new()));
            }
            // Read again under the room's lock: a booking that committed after the first read
            // is in it now, and none can be added until this transaction ends.
            let pending = match conn {
                Conn::Sqlite(_) => pending,
                Conn::Pg(_) => ReservationRow::lock_not_ended(conn, &id.to_string(), at)?,
            };
            if !pending.is_empty() && !cancel_future {
                return Err(Error::RoomInUse {
                    room: id,
                    total: pending.len(),
                    reservations: pending.iter().take(100).map(|r| r.id.0).collect(),
                });
            }
            let mut events = Vec::with_capacity(pending.len());
            for mut reservation in pending {
                reservation.leave_slot(ReservationStatus::Cancelled, None, at);
                reservation.update(conn)?;
                let cancelled = reservation_from_row(reservation)?;
                events.push(event(EventKind::Cancelled, &cancelled, None, now));
            }
            row.rules.archived = true;
            row.update(conn)?;
            Ok((room_from_row(row)?, events))
        })
        .await
    }

    /// Undoes `archive_room`; `ALREADY_EXISTS` if an active room has taken the name meanwhile.
    pub async fn restore_room(&self, id: Uuid) -> Result<Room> {
        let inner = Arc::clone(&self.inner);
        self.write(move |conn, _now| {
            let mut row = find_room_for_update(conn, &inner.rules, id)?;
            if !row.rules.archived {
                return Ok((room_from_row(row)?, Vec::new()));
            }
            let details = room_from_row(row.clone())?.details()?;
            if RoomRow::name_taken(conn, &row.name_key, &id.to_string())? {
                return Err(name_taken(&details));
            }
            row.rules.archived = false;
            unique_name(row.update(conn), &details)?;
            Ok((room_from_row(row)?, Vec::new()))
        })
        .await
    }

    pub async fn room(&self, id: Uuid) -> Result<Option<Room>> {
        self.interact(move |conn| {
            RoomRow::find(conn, &id.to_string())?
                .map(room_from_row)
                .transpose()
        })
        .await
    }

    /// Rooms matching `filter`, sorted by name; more than `max` is refused.
    pub async fn rooms(&self, filter: RoomFilter, max: usize) -> Result<Vec<Room>> {
        self.interact(move |conn| {
            let (rows, more) = RoomRow::list_by_name(conn, &filter, max)?;
            if more {
                return Err(too_many(
                    "rooms",
                    max,
                    "narrow them with minCapacity, building or features, or page through \
                     roomsConnection",
                ));
            }
            rows.into_iter().map(room_from_row).collect()
        })
        .await
    }

    /// Every room matching `filter`, sorted by name (for `roomsConnection`, which pages them).
    pub async fn all_rooms(&self, filter: RoomFilter) -> Result<Vec<Room>> {
        self.interact(move |conn| {
            let (rows, _) = RoomRow::list_by_name(conn, &filter, usize::MAX)?;
            rows.into_iter().map(room_from_row).collect()
        })
        .await
    }

    /// The rooms among `ids` that exist, by id.
    pub async fn rooms_by_id(&self, ids: Vec<Uuid>) -> Result<HashMap<Uuid, Room>> {
        self.interact(move |conn| {
            let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
            RoomRow::find_many(conn, &ids)?
                .into_iter()
                .map(|row| room_from_row(row).map(|room| (room.id, room)))
                .collect()
        })
        .await
    }

    /// The active rooms matching `filter` where booking `slot` would succeed at `now`: every
    /// policy satisfied and nothing in the way, buffers included; with `caller` (the caller's
    /// email, when known), their quotas too (a read of what they hold, in rooms that have a
    /// quota and are free otherwise). One statement: the rooms,
    /// each with one correlated index probe of its calendar (a round trip per room would cost
    /// PostgreSQL 1,000 of them for 1,000 rooms). Sorted by capacity then name; more than `max`
    /// is refused.
    pub async fn available_rooms(
        &self,
        slot: Slot,
        filter: RoomFilter,
        caller: Option<String>,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Room>> {
        if slot.start() < now {
            return Ok(Vec::new());
        }
        let (start, end) = micros(slot);
        self.interact(move |conn| {
            let filter = RoomFilter {
                include_archived: false,
                ..filter
            };
            let mut free = Vec::new();
            for (row, latest_end) in RoomRow::list_with_latest_end(conn, &filter, end)? {
                let room = room_from_row(row)?;
                if room.policy.check(slot, now, room.time_zone).is_err() {
                    continue;
                }
                if latest_end.is_some_and(|e| e + buffer_micros(&room.policy) > start) {
                    continue;
                }
                if let Some(email) = caller.as_deref().filter(|_| room.policy.has_quota()) {
                    let (policy, tz) = (&room.policy, room.time_zone);
                    let held = holdings(conn, policy, tz, room.id, slot, email, None, now)?;
                    if policy
                        .check_quotas(slot, tz, &held.in_weeks, held.active)
                        .is_err()
                    {
                        continue;
                    }
                }
                if free.len() == max {
                    return Err(too_many(
                        "rooms",
                        max,
                        "narrow them with minCapacity, building or features",
                    ));
                }
                free.push(room);
            }
            Ok(free)
        })
        .await
    }

    /// The start and end of every CONFIRMED reservation of `room` overlapping `window`, sorted;
    /// more than `max` is refused.
    pub async fn busy(&self, room: Uuid, window: Window, max: usize) -> Result<Vec<Slot>> {
        self.interact(move |conn| {
            let room = room.to_string();
            let (times, more) = ReservationRow::list_times(
                conn,
                &ListFilter {
                    room_id: Some(&room),
                    owner: None,
                    include_cancelled: false,
                    from: domain::to_micros(window.from),
                    to: domain::to_micros(window.to),
                },
                max,
            )?;
            if more {
                return Err(too_many("busy times", max, "ask for a shorter window"));
            }
            times.into_iter().map(slot_of).collect()
        })
        .await
    }

    /// `Room.freeSlots`: the maximal intervals of `window` in which a booking of `room`
    /// satisfies every rule at `now`, at least `min_minutes` long; with `caller` (the caller's
    /// email, when known), within their quotas (`RoomPolicy::within_quotas`). More than `max`
    /// is refused.
    pub async fn free_slots(
        &self,
        room: Room,
        window: Window,
        min_minutes: i64,
        caller: Option<String>,
        now: DateTime<Utc>,
        max: usize,
    ) -> Result<Vec<Slot>> {
        if room.archived {
            return Ok(Vec::new());
        }
        // Every reservation of a year fits: one per minute of it is 527,040.
        const MOST_BUSY: usize = 600_000;
        self.interact(move |conn| {
            let id = room.id.to_string();
            let b = buffer_micros(&room.policy);
            let (times, more) = ReservationRow::list_times(
                conn,
                &ListFilter {
                    room_id: Some(&id),
                    owner: None,
                    include_cancelled: false,
                    from: domain::to_micros(window.from) - b,
                    to: domain::to_micros(window.to) + b,
                },
                MOST_BUSY,
            )?;
            if more {
                return Err(too_many(
                    "reservations",
                    MOST_BUSY,
                    "ask for a shorter window",
                ));
            }
            let busy = times.into_iter().map(slot_of).collect::<Result<Vec<_>>>()?;
            let slots = domain::free_slots(&domain::FreeSlotsQuery {
                from: window.from,
                to: window.to,
                now,
                policy: &room.policy,
                tz: room.time_zone,
                busy: &busy,
                min_minutes,
            });
            let (policy, tz) = (&room.policy, room.time_zone);
            let slots = match (caller.as_deref(), slots.first(), slots.last()) {
                (Some(email), Some(first), Some(last)) if policy.has_quota() => {
                    let span = Slot::new(first.start(), last.end())?;
                    let held = holdings(conn, policy, tz, room.id, span, email, None, now)?;
                    let min_len = chrono::Duration::minutes(
                        min_minutes.max(policy.min_duration_minutes.map_or(0, i64::from)),
                    );
                    policy.within_quotas(slots, tz, &held.in_weeks, held.active, min_len)
                }
                _ => slots,
            };
            if slots.len() > max {
                return Err(too_many("free slots", max, "ask for a shorter window"));
            }
            Ok(slots)
        })
        .await
    }
}

/// Room `id`, locked for the rest of the transaction, which is about to change it: its cached
/// rules (SQLite, `RulesCache`) are forgotten.
pub(super) fn find_room_for_update(
    conn: &mut Conn<'_>,
    cache: &RulesCache,
    id: Uuid,
) -> Result<RoomRow> {
    cache.forget(id);
    RoomRow::find_for_update(conn, &id.to_string())?.ok_or_else(|| room_not_found(&id.to_string()))
}

pub(super) fn name_taken(details: &RoomDetails) -> Error {
    Error::AlreadyExists(format!(
        "a room named {:?} already exists (names are compared ignoring case)",
        details.name.as_str()
    ))
}

/// A write refused by the unique index on active rooms' names: `ALREADY_EXISTS`.
pub(super) fn unique_name(written: QueryResult<usize>, details: &RoomDetails) -> Result<usize> {
    match written {
        Err(diesel::result::Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => {
            Err(name_taken(details))
        }
        other => Ok(other?),
    }
}

/// The row storing room `id` as `details` say.
pub(super) fn room_row(
    id: Uuid,
    created_at: i64,
    details: &RoomDetails,
    archived: bool,
) -> RoomRow {
    let p = &details.policy;
    RoomRow {
        id: StoredUuid(id),
        name: details.name.as_str().to_owned(),
        name_key: details.name.key(),
        capacity: details.capacity.get(),
        created_at,
        building: details.building.clone(),
        building_key: details.building.as_deref().map(domain::building_key),
        floor: details.floor.clone(),
        description: details.description.clone(),
        features: details.features.to_stored(),
        rules: RoomRulesRow {
            archived,
            time_zone: details.time_zone.name().to_owned(),
            min_duration_minutes: p.min_duration_minutes,
            max_duration_minutes: p.max_duration_minutes,
            buffer_minutes: p.buffer_minutes,
            booking_horizon_days: p.booking_horizon_days,
            opening_hours: p.opening_hours.as_deref().map(OpeningHours::to_stored),
            check_in_required: p.check_in_required,
            check_in_opens_minutes: p.check_in_opens_minutes,
            auto_release_minutes: p.auto_release_minutes,
            managers: details.managers.to_stored(),
            max_hours_per_person_per_week: p.max_hours_per_person_per_week,
            max_active_reservations_per_person: p.max_active_reservations_per_person,
            approval_required: p.approval_required,
            approval_timeout_hours: p.approval_timeout_hours,
        },
    }
}

pub(super) fn room_not_found(id: &str) -> Error {
    Error::NotFound(format!("no room with id {id}"))
}
