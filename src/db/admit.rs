//! Locking rooms and deciding whether a slot may be taken: the one answer `bookRoom`, series,
//! reschedule and `availableRooms` share (overlap, buffers, every policy of the room).

use super::*;

/// Locks `rooms` for the transaction, each once and in id order (every writer takes room
/// locks in that order, so no two wait on each other in a cycle); each one's rules, if it
/// exists.
pub(super) fn lock_rooms(
    conn: &mut Conn<'_>,
    rooms: impl IntoIterator<Item = Uuid>,
) -> Result<Vec<(Uuid, Option<RoomRulesRow>)>> {
    let mut rooms: Vec<Uuid> = rooms.into_iter().collect();
    rooms.sort_unstable();
    rooms.dedup();
    let ids: Vec<String> = rooms.iter().map(Uuid::to_string).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let rules = RoomRow::lock(conn, &refs)?;
    Ok(rooms.into_iter().zip(rules).collect())
}

/// Locks room `id` for the transaction and reads its rules; `NOT_FOUND` if there is none.
/// On SQLite the rules come from `cache` once read (the immediate transaction already holds
/// the whole database: there is no row lock to take).
pub(super) fn lock_room(conn: &mut Conn<'_>, cache: &RulesCache, id: Uuid) -> Result<Arc<Rules>> {
    let sqlite = matches!(conn, Conn::Sqlite(_));
    if sqlite {
        if let Some(rules) = cache.get(id) {
            return Ok(rules);
        }
    }
    let rules = match RoomRow::lock(conn, &[&id.to_string()])?.pop().flatten() {
        Some(row) => Arc::new(rules_from_row(row)?),
        None => return Err(room_not_found(&id.to_string())),
    };
    if sqlite {
        cache.put(id, Arc::clone(&rules));
    }
    Ok(rules)
}

/// Rooms' rules as last read, by room, kept on SQLite only, where this process is the
/// database's one writer and every change of a room goes through `find_room_for_update`,
/// which forgets that room's entry in the same locked transaction: a booking never sees rules
/// older than the last committed change. (PostgreSQL reads them with the row lock every
/// time: other replicas change rooms too.) Reading and parsing them was ~4% of a booking.
#[derive(Default)]
pub(super) struct RulesCache(Mutex<HashMap<Uuid, Arc<Rules>>>);

impl RulesCache {
    /// Rooms are few, but ids asked for need not exist: past this many, start over.
    const CAPACITY: usize = 10_000;

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Uuid, Arc<Rules>>> {
        // The map holds no invariant a panic could break: recover from poisoning.
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn get(&self, id: Uuid) -> Option<Arc<Rules>> {
        self.lock().get(&id).cloned()
    }

    fn put(&self, id: Uuid, rules: Arc<Rules>) {
        let mut map = self.lock();
        if map.len() >= Self::CAPACITY {
            map.clear();
        }
        map.insert(id, rules);
    }

    /// Room `id` is about to change: its rules are read again next time.
    pub(super) fn forget(&self, id: Uuid) {
        self.lock().remove(&id);
    }
}

/// What a booking checks of its room, parsed.
pub(super) struct Rules {
    pub(super) archived: bool,
    pub(super) tz: chrono_tz::Tz,
    pub(super) policy: RoomPolicy,
    pub(super) managers: Managers,
}

pub(super) fn rules_from_row(row: RoomRulesRow) -> Result<Rules> {
    let tz = domain::parse_time_zone(&row.time_zone)
        .map_err(|_| Error::internal(format_args!("stored time zone {:?}", row.time_zone)))?;
    let opening_hours = match &row.opening_hours {
        None => None,
        Some(text) => Some(
            OpeningHours::from_stored(text)
                .ok_or_else(|| Error::internal(format_args!("stored opening hours {text:?}")))?,
        ),
    };
    Ok(Rules {
        archived: row.archived,
        tz,
        policy: RoomPolicy {
            min_duration_minutes: row.min_duration_minutes,
            max_duration_minutes: row.max_duration_minutes,
            buffer_minutes: row.buffer_minutes,
            booking_horizon_days: row.booking_horizon_days,
            opening_hours,
            check_in_required: row.check_in_required,
            check_in_opens_minutes: row.check_in_opens_minutes,
            auto_release_minutes: row.auto_release_minutes,
            max_hours_per_person_per_week: row.max_hours_per_person_per_week,
            max_active_reservations_per_person: row.max_active_reservations_per_person,
            approval_required: row.approval_required,
            approval_timeout_hours: row.approval_timeout_hours,
        },
        managers: Managers::from_stored(&row.managers),
    })
}

/// When a reservation of `slot` in a room with `rules` is released unless checked in.
pub(super) fn release_deadline(slot: Slot, rules: &Rules) -> Option<i64> {
    domain::auto_release_at(slot.start(), &rules.policy).map(domain::to_micros)
}

/// Microseconds in a minute: the unit of stored instants over the unit of policies.
pub(super) const MICROS_PER_MINUTE: i64 = 60_000_000;

pub(super) fn buffer_micros(policy: &RoomPolicy) -> i64 {
    i64::from(policy.buffer_minutes) * MICROS_PER_MINUTE
}

/// On PostgreSQL, which of `slots` have a CONFIRMED reservation of the room within `buffer`
/// (microseconds), found in one statement; `None` on SQLite, where each slot's own probe in
/// `admit` costs no round trip.
pub(super) fn near_slots(
    conn: &mut Conn<'_>,
    room_id: Uuid,
    slots: &[Slot],
    buffer: i64,
) -> Result<Option<std::collections::HashSet<usize>>> {
    let Conn::Pg(c) = conn else {
        return Ok(None);
    };
    let (starts, ends): (Vec<i64>, Vec<i64>) = slots
        .iter()
        .map(|&slot| {
            let (start, end) = micros(slot);
            (start - buffer, end + buffer)
        })
        .unzip();
    let hits = ReservationRow::conflicting_slots_pg(c, &room_id.to_string(), &starts, &ends)?;
    Ok(Some(hits.into_iter().collect()))
}

/// How `admit` finds an overlap when the room has no buffer.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Probe {
    /// A single write: on PostgreSQL the exclusion constraint decides at the write.
    AtWrite,
    /// Always an explicit index probe, on both backends: the verdict is needed before any
    /// write (each occurrence of a series).
    Now,
}

/// Booking rules 3, 5 and 6 for `slot` in the locked room `room_id`, in API.md's order:
/// archived, overlap, the policy (durations, horizon, opening hours), then the buffer.
/// `except` is the reservation being moved.
///
/// One index probe on the success path, whatever the policy: in a room with a buffer the
/// probe looks `b` further on each side, which also finds any overlap, and only when it finds
/// something does a second probe tell an overlap from a reservation merely too close. On
/// PostgreSQL a single write to a room without a buffer leaves the overlap to the exclusion
/// constraint (see `check_overlap`); if the policy refuses such a slot, the overlap probe runs
/// first, so a slot that breaks both is `OVERLAP` on either backend.
pub(super) fn admit(
    conn: &mut Conn<'_>,
    rules: &Rules,
    room_id: Uuid,
    slot: Slot,
    except: Option<&str>,
    now: DateTime<Utc>,
    probe: Probe,
) -> Result<()> {
    if rules.archived {
        return Err(Error::RoomArchived(room_id));
    }
    let room = room_id.to_string();
    let room = room.as_str();
    let (start, end) = micros(slot);
    let overlap = |conn: &mut Conn<'_>| {
        refuse_conflict(ReservationRow::conflict(conn, room, start, end, except)?)
    };
    let b = buffer_micros(&rules.policy);
    let deferred = b == 0 && probe == Probe::AtWrite && matches!(conn, Conn::Pg(_));
    let near = if b > 0 {
        ReservationRow::conflict(conn, room, start - b, end + b, except)?
    } else if probe == Probe::Now {
        overlap(conn)?;
        None
    } else {
        check_overlap(conn, room, start, end, except)?;
        None
    };
    if near.is_some() {
        overlap(conn)?;
    }
    if let Err(refused) = rules.policy.check(slot, now, rules.tz) {
        if deferred {
            overlap(conn)?;
        }
        return Err(refused);
    }
    match near {
        Some(other) => Err(buffer_violation(rules.policy.buffer_minutes, other)),
        None => Ok(()),
    }
}

/// Quotas (API.md "Quotas"), after every other policy: the slot against what the organizer
/// `email` holds in the locked room (read under that lock, so exact under concurrency), plus
/// `extra` (a series' occurrences accepted before this one); `except` is the reservation
/// being moved.
#[allow(clippy::too_many_arguments)]
pub(super) fn check_quotas(
    conn: &mut Conn<'_>,
    rules: &Rules,
    room_id: Uuid,
    slot: Slot,
    email: &str,
    except: Option<&str>,
    extra: &[Slot],
    now: DateTime<Utc>,
) -> Result<()> {
    let policy = &rules.policy;
    if !policy.has_quota() {
        return Ok(());
    }
    let mut held = holdings(conn, policy, rules.tz, room_id, slot, email, except, now)?;
    held.in_weeks
        .extend(extra.iter().map(|s| (s.start(), s.end())));
    held.active += extra.iter().filter(|s| s.end() > now).count();
    let refused = policy.check_quotas(slot, rules.tz, &held.in_weeks, held.active);
    if refused.is_err() && matches!(conn, Conn::Pg(_)) {
        // On PostgreSQL a single booking's overlap is left to the exclusion constraint
        // (`admit`), so it was not probed yet: a slot that breaks both is `OVERLAP`, as on
        // SQLite. Only on this refusal path, so a booking that succeeds pays nothing.
        let (start, end) = micros(slot);
        let room = room_id.to_string();
        refuse_conflict(ReservationRow::conflict(conn, &room, start, end, except)?)?;
    }
    refused
}

/// What one person holds in one room, as its quotas count it.
pub(super) struct Holdings {
    /// (start, end) of each reservation touching an ISO week of the span asked about (only
    /// with `maxHoursPerPersonPerWeek`).
    pub(super) in_weeks: Vec<(DateTime<Utc>, DateTime<Utc>)>,
    /// How many have not ended at `now` (only with `maxActiveReservationsPerPerson`).
    pub(super) active: usize,
}

/// The reservations the organizer `email` holds in room `room_id` (with `policy`, in zone
/// `tz`) that its quotas count for `span`, but `except` (the one being moved). Nothing is read for a quota
/// the room does not have, and what is read does not grow with the person's bookings
/// elsewhere in time: a room's reservations never overlap, so at most one starts before an
/// instant and reaches past it (found by the overlap probe), and the rest are a range of
/// `reservations_room_organizer`.
#[allow(clippy::too_many_arguments)]
pub(super) fn holdings(
    conn: &mut Conn<'_>,
    policy: &RoomPolicy,
    tz: chrono_tz::Tz,
    room_id: Uuid,
    span: Slot,
    email: &str,
    except: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Holdings> {
    let room = room_id.to_string();
    // The one reservation that started before `at` and has not ended by then, if the person's.
    let reaching =
        |conn: &mut Conn<'_>, at: i64| -> Result<Option<(DateTime<Utc>, DateTime<Utc>)>> {
            match ReservationRow::reaching_over(conn, &room, at)? {
                Some((id, start, end, organizer))
                    if lower_eq(&organizer, email) && except != Some(id.0.to_string().as_str()) =>
                {
                    Ok(Some((instant(start)?, instant(end)?)))
                }
                _ => Ok(None),
            }
        };
    let mut in_weeks = Vec::new();
    if policy.max_hours_per_person_per_week.is_some() {
        let weeks = domain::iso_weeks(span, tz);
        if let (Some(first), Some(last)) = (weeks.first(), weeks.last()) {
            let (from, to) = (domain::to_micros(first.0), domain::to_micros(last.1));
            in_weeks.extend(reaching(conn, from)?);
            for (id, start, end) in ReservationRow::of_organizer(conn, &room, email, (from, to))? {
                if except != Some(id.0.to_string().as_str()) {
                    in_weeks.push((instant(start)?, instant(end)?));
                }
            }
        }
    }
    let mut active = 0;
    if policy.max_active_reservations_per_person.is_some() {
        let at = domain::to_micros(now);
        let from_now = ReservationRow::count_of_organizer_from(conn, &room, email, at)?;
        let moved_counted = match except {
            Some(id) => ReservationRow::find(conn, id)?
                .is_some_and(|r| r.start_at >= at && lower_eq(&r.organizer_email, email)),
            None => false,
        };
        active = usize::try_from(from_now)
            .unwrap_or(0)
            .saturating_sub(usize::from(moved_counted))
            + usize::from(reaching(conn, at)?.is_some());
    }
    Ok(Holdings { in_weeks, active })
}

/// Organizer addresses compare as SQL's `lower` does on both backends (ASCII letters).
fn lower_eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// Rule 3 inside a write. SQLite: one index probe. PostgreSQL: the exclusion constraint
/// decides when the row is written (the room is locked, so nothing can slip in between), and
/// the probe runs only if it refuses, to name the reservation in the way (`Db::guarded`):
/// most bookings succeed, and this saves each of them a statement.
pub(super) fn check_overlap(
    conn: &mut Conn<'_>,
    room: &str,
    start: i64,
    end: i64,
    except: Option<&str>,
) -> Result<()> {
    match conn {
        Conn::Sqlite(_) => {
            refuse_conflict(ReservationRow::conflict(conn, room, start, end, except)?)
        }
        Conn::Pg(_) => Ok(()),
    }
}

pub(super) fn refuse_conflict(conflict: Option<Uuid>) -> Result<()> {
    match conflict {
        None => Ok(()),
        Some(conflicting) => Err(Error::Overlap { conflicting }),
    }
}
